"""`pdftotext` (poppler-utils): the text of a PDF as a reader sees it, for search and for verification."""
from __future__ import annotations

from pathlib import Path

from archive_store.errors import ExternalProgramError
from pipeline.external.process import Program, run

PDFTOTEXT = Program("pdftotext", ("poppler-utils",))
DEFAULT_TIMEOUT = 120


def pdf_text(path: Path, *, first_page: int | None = None, last_page: int | None = None,
             layout: bool = False, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The text of `path` (pages first..last, 1-based, inclusive); an unreadable file gives ''."""
    cmd = [PDFTOTEXT.name, "-enc", "UTF-8"]
    if layout:
        cmd.append("-layout")
    if first_page is not None:
        cmd += ["-f", str(first_page)]
    if last_page is not None:
        cmd += ["-l", str(last_page)]
    name = Path(path).name
    cmd += [Path(path).absolute(), "-"]
    done = run(PDFTOTEXT, cmd, what=f"读取“{name}”的文字", timeout=timeout, timed_out=lambda: ExternalProgramError(
        f"pdftotext 读取“{name}”超过 {timeout:g} 秒仍未结束，已中止：请检查该文件"))
    return done.stdout if done.returncode == 0 else ""
