"""`pdftotext` (poppler-utils): the text of a PDF as a reader sees it, for search and for verification."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from archive_store.errors import ExternalProgramError

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


PDFTOPPM = "pdftoppm"


def pdf_page_png(path: Path, page: int, dest: Path, *, dpi: int = 110, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Page `page` (1-based) of `path` as a PNG at `dest` (written whole: a temporary name, then renamed)."""
    dest = Path(dest)
    stem = dest.with_name(f".{dest.stem}.{os.getpid()}.tmp")
    cmd = [PDFTOPPM, "-png", "-singlefile", "-r", str(int(dpi)), "-f", str(int(page)), "-l", str(int(page)),
           os.fspath(Path(path).absolute()), os.fspath(stem)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ExternalProgramError(f"未找到 pdftoppm 程序，无法显示案卷页面：请安装 Debian 软件包 {DEBIAN_PACKAGE}"
                                   f"（apt-get install {DEBIAN_PACKAGE}）") from None
    except subprocess.TimeoutExpired:
        raise ExternalProgramError(f"pdftoppm 显示第 {page} 页超过 {timeout:g} 秒仍未结束，已中止") from None
    produced = stem.with_name(stem.name + ".png")
    if proc.returncode != 0 or not produced.is_file():
        produced.unlink(missing_ok=True)
        tail = proc.stderr.decode("utf-8", "replace").strip()[-300:]
        raise ExternalProgramError(f"pdftoppm 无法显示第 {page} 页（退出状态 {proc.returncode}）：{tail}")
    os.replace(produced, dest)
    return dest
