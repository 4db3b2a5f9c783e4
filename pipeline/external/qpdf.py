"""`qpdf --check`: the file-level syntax check (cross-reference table, stream lengths, object
syntax) that pikepdf's PDF/A validator trusts instead of doing itself."""
from __future__ import annotations

import os
from pathlib import Path

from archive_store.errors import ExternalProgramError
from pipeline.external.process import Finished, Program, run, tail

QPDF = Program("qpdf", ("qpdf",))
DEFAULT_TIMEOUT = 60

# qpdf's exit statuses: 0 clean, 2 errors, 3 warnings only.
_CLEAN, _ERRORS, _WARNINGS = 0, 2, 3


def qpdf_check(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Problems `qpdf --check` reports for `path` (errors and warnings alike), empty when clean.

    The messages are qpdf's own (English), with the file name prefix removed; callers wrap them.
    """
    path = Path(path)
    proc = _run_qpdf(["--check", os.fspath(path.absolute())], path, timeout)
    if proc.returncode == _CLEAN:
        return []
    if proc.returncode not in (_ERRORS, _WARNINGS):
        raise ExternalProgramError(
            f"qpdf 检查“{path.name}”时异常退出（退出码 {proc.returncode}）：{tail(proc.stderr)}；"
            f"请确认 Debian 软件包 {' '.join(QPDF.packages)} 安装完好")
    problems = _problem_lines(proc.stderr, path)
    return problems or [f"qpdf --check 以退出码 {proc.returncode} 结束：{tail(proc.stdout)}"]


def _run_qpdf(args: list[str], path: Path, timeout: float) -> Finished:
    return run(QPDF, [QPDF.name, *args], what=f"检查“{path.name}”", timeout=timeout,
               timed_out=lambda: ExternalProgramError(
                   f"qpdf 检查“{path.name}”超过 {timeout:g} 秒仍未结束，已中止：文件可能过大或结构异常，"
                   "请检查该文件后重试"))


def _problem_lines(stderr: str, path: Path) -> list[str]:
    """qpdf's messages, one per line, without the repeated `WARNING: <file>:` prefix."""
    shown = f"{os.fspath(path.absolute())}: "
    lines = (line.strip().removeprefix("WARNING: ").removeprefix("ERROR: ").removeprefix("qpdf: ")
             for line in stderr.splitlines())
    return [line.removeprefix(shown) for line in lines if line]
