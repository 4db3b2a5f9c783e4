"""poppler-utils: `pdftotext` (the text of a PDF as a reader sees it, for search and verification) and
`pdftoppm` (a page as a picture, for the rasterising rung of normalisation)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from archive_store.errors import ConversionFailed, ExternalProgramError
from pipeline.external.process import Program, run, tail

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


def page_texts(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[str] | None:
    """The text of every page of `path` (one pdftotext run; each page's text ends with the form feed pdftotext
    puts after it, so ''.join of any run of pages is what `pdf_text` gives for them); None when pdftotext cannot
    read the file."""
    name = Path(path).name
    done = run(PDFTOTEXT, [PDFTOTEXT.name, "-enc", "UTF-8", Path(path).absolute(), "-"], what=f"读取“{name}”的文字",
               timeout=timeout, timed_out=lambda: ExternalProgramError(
                   f"pdftotext 读取“{name}”超过 {timeout:g} 秒仍未结束，已中止：请检查该文件"))
    if done.returncode != 0:
        return None
    pages = done.stdout.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()           # pdftotext ends every page with a form feed
    return [page + "\f" for page in pages]


def pages_without_text(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> list[int] | None:
    """The pages (1-based) on which pdftotext finds no text, the ones OCR has to read; None when pdftotext
    cannot read the file (then every page is left to the OCR)."""
    pages = page_texts(path, timeout=timeout)
    if pages is None:
        return None
    return [number for number, text in enumerate(pages, 1) if not text.strip()]


# --- pdftoppm: pages as pictures, for the rasterising rung of normalisation ---------------------------------

PDFTOPPM = Program("pdftoppm", ("poppler-utils",))
# How pdftoppm draws each kind of page: 1-bit for black-and-white pages, 8-bit grey, or colour.
RENDER_MODES = {"mono": ["-mono"], "gray": ["-gray"], "colour": ["-png"]}


def render_page(path: Path, page: int, dest_stem: Path, *, dpi: float, mode: str = "colour",
                antialias: bool = True, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Draw page `page` (1-based) of `path` at `dpi` into one image file beside `dest_stem`; return it.

    `mode` is "mono" (PBM, 1 bit), "gray" (PGM) or "colour" (PNG). A page poppler cannot draw at all
    raises ConversionFailed naming the file; a page it draws with complaints is still returned.
    """
    cmd = [PDFTOPPM.name, *RENDER_MODES[mode], "-r", f"{dpi:g}", "-f", str(page), "-l", str(page), "-singlefile"]
    if not antialias:
        cmd += ["-aa", "no", "-aaVector", "no"]
    cmd += [Path(path).absolute(), Path(dest_stem).absolute()]
    name = Path(path).name
    done = run(PDFTOPPM, cmd, what=f"绘制“{name}”的页面", timeout=timeout, discard_stdout=True,
               timed_out=lambda: ConversionFailed(f"pdftoppm 绘制“{name}”第 {page} 页超过 {timeout:g} 秒仍未结束，已中止"))
    suffix = {"mono": ".pbm", "gray": ".pgm", "colour": ".png"}[mode]
    image = Path(f"{dest_stem}{suffix}")
    if done.returncode != 0 or not image.is_file():
        raise ConversionFailed(f"pdftoppm 无法绘制“{name}”第 {page} 页（退出码 {done.returncode}）：{tail(done.stderr)}")
    return image


def pdf_page_png(path: Path, page: int, dest: Path, *, dpi: int = 110, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Page `page` (1-based) of `path` as a PNG at `dest` (written whole: a temporary name, then renamed)."""
    dest = Path(dest)
    stem = dest.with_name(f".{dest.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    produced = stem.with_name(stem.name + ".png")
    try:
        render_page(path, int(page), stem, dpi=int(dpi), mode="colour", timeout=timeout)
        os.replace(produced, dest)
    finally:
        produced.unlink(missing_ok=True)
    return dest


def pages_gray(path: Path, *, dpi: int = 36, timeout: float = DEFAULT_TIMEOUT) -> list[tuple[int, int, bytes]]:
    """Every page of `path` drawn by one `pdftoppm -gray` at `dpi`: (width, height, one byte a pixel, 255 = white)
    each, in page order."""
    name = Path(path).name
    cmd = [PDFTOPPM.name, "-gray", "-r", str(dpi), Path(path).absolute()]
    done = run(PDFTOPPM, cmd, what=f"绘制“{name}”的页面", timeout=timeout, binary_stdout=True)
    if done.returncode != 0:
        raise ExternalProgramError(f"pdftoppm 无法绘制“{name}”的页面（退出码 {done.returncode}）")
    images, pos = [], 0
    while pos < len(done.stdout):
        width, height, pixels, pos = _parse_pgm(done.stdout, pos)
        images.append((width, height, pixels))
    return images


def _parse_pgm(data: bytes, pos: int = 0) -> tuple[int, int, bytes, int]:
    """The binary PGM (P5, maxval 255) at `pos` of what pdftoppm wrote, and where the next one begins."""
    fields: list[bytes] = []
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
    start = pos + 1
    return width, height, data[start:start + width * height], start + width * height
