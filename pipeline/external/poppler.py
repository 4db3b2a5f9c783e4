"""poppler-utils: `pdftotext` (the text of a PDF as a reader sees it, for search and verification) and
`pdftoppm` (a page as a picture, for the rasterising rung of normalisation)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from archive_store.errors import ConversionFailed, ExternalProgramError

PDFTOTEXT = "pdftotext"
DEBIAN_PACKAGE = "poppler-utils"
DEFAULT_TIMEOUT = 120


def pdf_text(path: Path, *, first_page: int | None = None, last_page: int | None = None,
             layout: bool = False, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The text of `path` (pages first..last, 1-based, inclusive); an unreadable file gives ''."""
    cmd = [PDFTOTEXT, "-enc", "UTF-8"]
    if layout:
        cmd.append("-layout")
    if first_page is not None:
        cmd += ["-f", str(first_page)]
    if last_page is not None:
        cmd += ["-l", str(last_page)]
    cmd += [os.fspath(Path(path).absolute()), "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ExternalProgramError(
            f"未找到 pdftotext 程序，无法读取“{Path(path).name}”的文字：请安装 Debian 软件包 {DEBIAN_PACKAGE}"
            f"（apt-get install {DEBIAN_PACKAGE}）") from None
    except subprocess.TimeoutExpired:
        raise ExternalProgramError(
            f"pdftotext 读取“{Path(path).name}”超过 {timeout:g} 秒仍未结束，已中止：请检查该文件") from None
    if proc.returncode != 0:
        return ""
    return proc.stdout.decode("utf-8", "replace")


# --- pdftoppm: pages as pictures, for the rasterising rung of normalisation ---------------------------------

PDFTOPPM = "pdftoppm"
# How pdftoppm draws each kind of page: 1-bit for black-and-white pages, 8-bit grey, or colour.
RENDER_MODES = {"mono": ["-mono"], "gray": ["-gray"], "colour": ["-png"]}


def render_page(path: Path, page: int, dest_stem: Path, *, dpi: float, mode: str = "colour",
                antialias: bool = True, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Draw page `page` (1-based) of `path` at `dpi` into one image file beside `dest_stem`; return it.

    `mode` is "mono" (PBM, 1 bit), "gray" (PGM) or "colour" (PNG). A page poppler cannot draw at all
    raises ExternalProgramError naming the file; a page it draws with complaints is still returned.
    """
    cmd = [PDFTOPPM, *RENDER_MODES[mode], "-r", f"{dpi:g}", "-f", str(page), "-l", str(page), "-singlefile"]
    if not antialias:
        cmd += ["-aa", "no", "-aaVector", "no"]
    cmd += [os.fspath(Path(path).absolute()), os.fspath(Path(dest_stem).absolute())]
    name = Path(path).name
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ExternalProgramError(
            f"未找到 pdftoppm 程序，无法绘制“{name}”的页面：请安装 Debian 软件包 {DEBIAN_PACKAGE}"
            f"（apt-get install {DEBIAN_PACKAGE}）") from None
    except subprocess.TimeoutExpired:
        raise ConversionFailed(f"pdftoppm 绘制“{name}”第 {page} 页超过 {timeout:g} 秒仍未结束，已中止") from None
    suffix = {"mono": ".pbm", "gray": ".pgm", "colour": ".png"}[mode]
    image = Path(f"{dest_stem}{suffix}")
    if proc.returncode != 0 or not image.is_file():
        tail = " ".join(proc.stderr.decode("utf-8", "replace").split())[-300:] or "（无输出）"
        raise ConversionFailed(f"pdftoppm 无法绘制“{name}”第 {page} 页（退出码 {proc.returncode}）：{tail}")
    return image
