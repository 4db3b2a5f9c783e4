"""Running an external program, the one way every wrapper here does it; and our own Python work in a job.

Each run gets its own session (process group), so a time-out or an interruption kills the program and every
child it started (Tesseract under OCRmyPDF, soffice's helpers); a program that is not installed is reported with
the Debian packages that bring it; error messages quote the end of the program's output, trimmed.

A job (`run_job`) is a Python function run in a process forked from a warm fork server (`warm_up`), with the same
session and time-out rules: the way OCRmyPDF runs without paying Python's start-up per file, and the way the
pipeline's heavy Python work (normalising an upload, checking a dossier) leaves the ingest process free.
Waits are on events (pipes, pidfds), never on sleeps.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import select
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archive_store.errors import ExternalProgramError, YuetanError
from archive_store.scratch import process_alive

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


def wait_exit(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait at most `timeout` seconds for `proc` to end, on its pidfd (woken by the exit itself, not by polling
    with sleeps as Popen.wait(timeout) does); True when it has ended (and is reaped)."""
    if proc.poll() is not None:
        return True
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):          # no pidfd (old kernel), or already gone
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if ready:
        proc.wait()
        return True
    return False


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


# --- our own Python work in a forked process ------------------------------------------------------------------

# Modules the fork server imports once, so every job forked from it starts with them loaded (see `warm_up`).
_PRELOAD: list[str] = []
_preload_lock = threading.Lock()
_in_job = False        # True inside a job: a single-threaded process that can fork its own jobs directly


def warm_up(preload: Iterable[str] = ()) -> None:
    """Start the fork server now, with `preload` imported in it, so its start-up overlaps other work instead of
    delaying the first job. Modules named after the server started are imported by each job instead."""
    with _preload_lock:
        wanted = [m for m in preload if m not in _PRELOAD]
        if wanted and not _server_running():
            _PRELOAD.extend(wanted)
            multiprocessing.get_context("forkserver").set_forkserver_preload(list(_PRELOAD))
    if not _in_job:
        from multiprocessing import forkserver

        _short_socket_folder()
        _tolerant_temp_dir_removal()
        forkserver.ensure_running()


_SOCKET_PATH_ROOM = 107 - len("/pymp-XXXXXXXX/listener-XXXXXXXX")     # a Unix socket's path: 107 bytes at most


def _short_socket_folder() -> None:
    """The fork server's socket goes in a folder (pymp-*) under the temporary folder; under a deep one (a test's,
    with a long process id) its path passes the 107 bytes a Unix socket allows ('AF_UNIX path too long'). Then the
    folder is made in /tmp instead, removed at exit as multiprocessing removes its own."""
    import shutil
    from multiprocessing import process, util

    config = process.current_process()._config
    if config.get("tempdir") is None and len(os.fsencode(tempfile.gettempdir())) > _SOCKET_PATH_ROOM:
        folder = tempfile.mkdtemp(prefix="pymp-", dir="/tmp")
        util.Finalize(None, util._remove_temp_dir, args=(shutil.rmtree, folder), exitpriority=-100)
        config["tempdir"] = folder


def _tolerant_temp_dir_removal() -> None:
    """multiprocessing keeps the fork server's socket in a folder (pymp-*) inside the temporary folder of the moment,
    for a command its scratch folder, which is removed when the command ends, before Python's exit handlers run;
    multiprocessing's own removal of the folder at exit would then print a traceback. Let it find the folder gone."""
    import functools
    import shutil
    from multiprocessing import util

    folder = util.get_temp_dir()
    for finalizer in list(getattr(util, "_finalizer_registry", {}).values()):
        if getattr(finalizer, "_callback", None) is getattr(util, "_remove_temp_dir", None):
            finalizer._args = (functools.partial(shutil.rmtree, ignore_errors=True), folder)


def run_job(target: Callable, *args, what: str, timeout: float, timed_out: Callable[[], YuetanError] | None = None,
            **kwargs):
    """`target(*args, **kwargs)` in a process of its own, forked from a warm fork server: its return value, or the
    exception it raised, comes back here. Like `run`, the process gets its own session, so a time-out kills it and
    every program it started (Tesseract, Ghostscript); the wait is on the result pipe, not a poll.

    Inside a job, a job is forked directly (the job is single-threaded); elsewhere (a process with threads, or
    with LibreOffice's UNO threads) from the fork server, since forking a threaded process is not safe."""
    if not _in_job:
        _short_socket_folder()
    ctx = multiprocessing.get_context("fork" if _in_job else "forkserver")
    receive, send = ctx.Pipe(duplex=False)
    job = ctx.Process(target=_job_main, args=(send, tempfile.gettempdir(), os.getpid(), target, args, kwargs),
                      name=f"yuetan-job {what}")
    started = time.monotonic()
    job.start()
    send.close()
    try:
        if not receive.poll(timeout):
            _kill_job(job)
            raise (timed_out() if timed_out else ExternalProgramError(
                f"{what}超过 {timeout:g} 秒仍未结束，已中止")) from None
        try:
            status, value = receive.recv()
        except EOFError:
            job.join()
            raise ExternalProgramError(f"{what}时处理进程意外退出（{_exit_text(job.exitcode)}）：可能内存不足，"
                                       "请稍后重试") from None
    except BaseException:
        _kill_job(job)
        raise
    finally:
        receive.close()
    job.join()
    log.debug("%s：%.2f 秒（子进程）", what, time.monotonic() - started)
    if status == "error":
        raise value
    return value


def _job_main(send, temp: str, caller: int, target: Callable, args: tuple, kwargs: dict) -> None:
    """In the job: its own session and the caller's temporary folder (the command's scratch folder, not the one the
    fork server started with), then the work; the answer (value or exception) goes back over `send`."""
    global _in_job
    _in_job = True
    os.setsid()
    _die_with(caller)
    os.environ["TMPDIR"] = tempfile.tempdir = temp
    try:
        answer = ("ok", target(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller, which raises it
        answer = ("error", exc)
    try:
        send.send(answer)
    except Exception as exc:  # noqa: BLE001 - an answer that does not pickle is described instead
        send.send(("error", ExternalProgramError(f"处理进程的结果无法传回（{type(exc).__name__}: {brief(exc)}）")))
    send.close()


def _die_with(caller: int) -> None:
    """A caller killed with `kill -9` cannot stop its jobs: each job watches it (its pidfd) and, when it is gone,
    kills its own session, Tesseract and Ghostscript with it. Otherwise a job went on writing into the dead
    command's scratch folder while the next command removed it (seen in CI: the folder was left behind)."""
    try:
        watched = os.pidfd_open(caller)
    except (AttributeError, OSError):          # no pidfd (old kernel), or the caller is already gone
        if not process_alive(caller):
            os.killpg(0, signal.SIGKILL)
        return

    def watch() -> None:
        select.select([watched], [], [])
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="yuetan-job-caller", daemon=True).start()


def _kill_job(job) -> None:
    for kill in (lambda: os.killpg(job.pid, signal.SIGKILL), job.kill):
        try:
            kill()
        except (ProcessLookupError, PermissionError, OSError, AttributeError):
            pass
    job.join()


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"被信号 {-code} 终止"
    return f"退出码 {code}"


def _server_running() -> bool:
    from multiprocessing import forkserver

    return getattr(forkserver._forkserver, "_forkserver_pid", None) is not None
