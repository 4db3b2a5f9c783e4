"""Running an external program, the one way every wrapper here does it.

Each run gets its own session (process group), so a time-out or an interruption kills the program and every
child it started (Tesseract under OCRmyPDF, soffice's helpers); a program that is not installed is reported with
the Debian packages that bring it; error messages quote the end of the program's output, trimmed.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archive_store.errors import ExternalProgramError, YuetanError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Program:
    """An external program and the Debian packages that install it."""

    name: str
    packages: tuple[str, ...]

    def install_hint(self) -> str:
        names = " ".join(self.packages)
        return f"请安装 Debian 软件包 {names}（apt-get install {names}）"

    def missing(self, what: str) -> ExternalProgramError:
        return ExternalProgramError(f"未找到 {self.name} 程序，无法{what}：{self.install_hint()}")


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str | bytes
    stderr: str

    def stderr_tail(self, limit: int = 300) -> str:
        return tail(self.stderr, limit)


def run(program: Program, cmd: Sequence[str | os.PathLike], *, what: str, timeout: float,
        timed_out: Callable[[], YuetanError] | None = None, env: dict | None = None,
        binary_stdout: bool = False, discard_stdout: bool = False) -> Finished:
    """Run `cmd` to its end (or until `timeout` seconds, then kill its whole process group).

    `what` says what the run is for, in Chinese ("检查“x.pdf”"), for the messages; `timed_out` makes the error
    raised on a time-out (default: ExternalProgramError naming the program and the time). stderr is text
    (undecodable bytes replaced); stdout is text unless `binary_stdout`, or dropped with `discard_stdout`.
    """
    started = time.monotonic()
    try:
        proc = subprocess.Popen([os.fspath(c) for c in cmd], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL if discard_stdout else subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
    except FileNotFoundError:
        raise program.missing(what) from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise (timed_out() if timed_out else ExternalProgramError(
            f"{program.name} {what}超过 {timeout:g} 秒仍未结束，已中止：请检查该文件")) from None
    except BaseException:
        kill_group(proc)
        raise
    log.debug("%s %s：退出码 %s，%.2f 秒", program.name, what, proc.returncode, time.monotonic() - started)
    stdout = out if binary_stdout or out is None else out.decode("utf-8", "replace")
    return Finished(proc.returncode, stdout if stdout is not None else "", err.decode("utf-8", "replace"))


def kill_group(proc: subprocess.Popen, *, reap: bool = True) -> None:
    """Kill the process's whole group (it was started in a session of its own) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if reap:
        try:
            proc.communicate()
        except (OSError, ValueError):
            proc.wait()


def tail(text: str, limit: int = 300) -> str:
    """The end of a program's output (where its reason stands), on one line."""
    text = " ".join((text or "").split())
    if not text:
        return "（无输出）"
    return "…" + text[-limit:] if len(text) > limit else text


def brief(exc: BaseException, limit: int = 160) -> str:
    """An exception's message on one line, cut to `limit` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "…"


def file_tail(path: Path, limit: int = 300) -> str:
    """The end of a log file, on one line; '' if it cannot be read."""
    try:
        return tail(Path(path).read_text(encoding="utf-8", errors="replace"), limit)
    except OSError:
        return ""
