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


PDFTOPPM = Program("pdftoppm", ("poppler-utils",))


def page_gray(path: Path, page: int, *, dpi: int = 36, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, int, bytes]:
    """Page `page` (1-based) drawn by `pdftoppm -gray` at `dpi`: (width, height, one byte a pixel, 255 = white)."""
    name = Path(path).name
    cmd = [PDFTOPPM.name, "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
           Path(path).absolute()]
    done = run(PDFTOPPM, cmd, what=f"绘制“{name}”第 {page} 页", timeout=timeout, binary_stdout=True)
    if done.returncode != 0:
        raise ExternalProgramError(f"pdftoppm 无法绘制“{name}”第 {page} 页（退出码 {done.returncode}）")
    return _parse_pgm(done.stdout)


def _parse_pgm(data: bytes) -> tuple[int, int, bytes]:
    """A binary PGM (P5, maxval 255) as pdftoppm writes it."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P5" or fields[3] != b"255":
        raise ExternalProgramError("pdftoppm 输出的不是 8 位灰度 PGM")
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[pos + 1:pos + 1 + width * height]
