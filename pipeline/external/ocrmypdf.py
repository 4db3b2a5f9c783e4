"""OCRmyPDF as a subprocess: makes scans searchable (Chinese and English) and writes PDF/A-2b.

It runs as `python -m ocrmypdf` of the same interpreter, so the pinned version is used, in its own
process group and temporary folder, so a time-out can stop Tesseract too and leave nothing behind.
The output type is left at OCRmyPDF's default ("auto"): on this platform it reaches PDF/A-2b with
pikepdf alone and falls back to Ghostscript only for files pikepdf cannot confirm; forcing
`--output-type pdfa-2` would always hand the file to Debian 12's Ghostscript 10.0.0, which
OCRmyPDF refuses together with `--skip-text`. Callers verify the result themselves.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from archive_store.errors import ConversionFailed, ExternalProgramError
from pipeline.external.ocrmypdf_fonts import use_glyphless_text_layer
from pipeline.external.process import Program, run_job, tail

LANGUAGES = "chi_sim+eng"
OCRMYPDF = Program("OCRmyPDF", ("tesseract-ocr", "tesseract-ocr-chi-sim", "tesseract-ocr-eng", "ghostscript"))
DEFAULT_TIMEOUT = 180
RASTER_PLUGIN = "pipeline.external.ocrmypdf_raster"   # pypdfium's rasterizer with a fast PNG encode (see there)

_SKIPPED_PAGES = re.compile(r"^\[OCR skipped on page\(s\) (\d+)(?:-(\d+))?\]$")


def ocrmypdf_command(src: Path, dest: Path, *, sidecar: Path | None = None,
                     image_dpi: int | None = None) -> list[str]:
    """The command line as `python -m ocrmypdf` would take it (a job runs the same arguments without starting
    Python), kept separate so it can be logged and tested without running it."""
    return [sys.executable, "-m", "ocrmypdf", *ocrmypdf_arguments(src, dest, sidecar=sidecar, image_dpi=image_dpi)]


def ocrmypdf_arguments(src: Path, dest: Path, *, sidecar: Path | None = None,
                       image_dpi: int | None = None) -> list[str]:
    cmd = ["--language", LANGUAGES, "--skip-text", "--jobs", "1", "--output-type", "pdf", "--optimize", "0",
           "--plugin", RASTER_PLUGIN]
    if image_dpi is not None:
        cmd += ["--image-dpi", str(image_dpi)]
    if sidecar is not None:
        cmd += ["--sidecar", os.fspath(Path(sidecar).absolute())]
    return cmd + [os.fspath(Path(src).absolute()), os.fspath(Path(dest).absolute())]


def run_ocrmypdf(src: Path, dest: Path, *, label: str | None = None, image_dpi: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> int:
    """OCR the pages of `src` that have no text and write the PDF to `dest` (not PDF/A yet: normalisation makes it
    that); return how many pages were OCRed. `label` is the upload's name for messages (`src` may be a temporary
    copy)."""
    label = label or Path(src).name
    with tempfile.TemporaryDirectory(prefix="yuetan-ocr-") as work:
        sidecar = Path(work) / "sidecar.txt"
        log_file = Path(work) / "ocrmypdf.log"
        args = ocrmypdf_arguments(src, dest, sidecar=sidecar, image_dpi=image_dpi)
        returncode = run_job(_ocrmypdf_main, args, work, log_file, what=f"识别“{label}”的文字", timeout=timeout,
                             timed_out=lambda: ConversionFailed(
                                 f"“{label}”的文字识别（OCRmyPDF）超过 {timeout:g} 秒仍未完成，已中止：文件可能页数过多或"
                                 "图像过大，请拆分或压缩后重新上传"))
        stderr = log_file.read_text(encoding="utf-8", errors="replace") if log_file.is_file() else ""
        _translate(returncode, stderr, label)
        if not Path(dest).is_file():
            raise ConversionFailed(f"“{label}”的文字识别（OCRmyPDF）未生成输出文件：{_tail(stderr)}")
        text = sidecar.read_text(encoding="utf-8", errors="replace") if sidecar.is_file() else ""
        return count_ocr_pages(text)


def _ocrmypdf_main(args: list[str], work: str, log_file: Path) -> int:
    """In the forked job: OCRmyPDF's command line with its temporary files in `work` and its log in `log_file`."""
    try:
        use_glyphless_text_layer()
    except ImportError:
        pass                                     # OCRmyPDF missing: reported below
    os.environ.update(TMPDIR=str(work), PYTHONIOENCODING="utf-8")
    tempfile.tempdir = None                      # the fork server may have cached another folder
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    try:
        from ocrmypdf.__main__ import run as ocrmypdf_run
    except ImportError:
        print("No module named ocrmypdf", file=sys.stderr)
        return 2
    try:
        return int(ocrmypdf_run(args))
    finally:
        sys.stderr.flush()


# For `process.warm_up`: what every OCR job needs loaded. OCRmyPDF imports its text-layer renderer (fpdf2 with
# fontTools' subsetter, 0.14 s) and its plugins only when a file is processed, so a job forked from a server that
# had loaded only `ocrmypdf.__main__` paid that import for every upload it OCRed.
PRELOAD = ("ocrmypdf.__main__", "ocrmypdf.fpdf_renderer", "ocrmypdf.font", "ocrmypdf.hocrtransform.hocr_parser",
           "ocrmypdf.builtin_plugins.tesseract_ocr", "ocrmypdf.builtin_plugins.pypdfium",
           "ocrmypdf.builtin_plugins.ghostscript", "ocrmypdf.builtin_plugins.optimize", "fontTools.subset",
           "fontTools.agl", RASTER_PLUGIN)


def count_ocr_pages(sidecar_text: str) -> int:
    """Pages OCRmyPDF recognised, from its sidecar: one form-feed-separated chunk per page,
    except that runs of skipped pages (already holding text) share one marker chunk."""
    chunks = sidecar_text.split("\f") if sidecar_text else []
    return sum(1 for chunk in chunks if not _SKIPPED_PAGES.match(chunk.strip()))


def _translate(returncode: int, stderr: str, label: str) -> None:
    """OCRmyPDF's exit status → yuetan's errors; return quietly on success."""
    if returncode == 0:
        return
    if "No module named ocrmypdf" in stderr:
        raise ExternalProgramError(
            f"未安装 OCRmyPDF，无法识别“{label}”：请在项目目录执行 make install 安装固定版本的依赖")
    from ocrmypdf.exceptions import (
        ExitCode,  # imported on failure only: the package takes a second to load
    )

    if returncode == ExitCode.missing_dependency:
        raise ExternalProgramError(
            f"OCRmyPDF 缺少依赖程序，无法识别“{label}”：{_tail(stderr)}；{OCRMYPDF.install_hint()}")
    if returncode == ExitCode.encrypted_pdf:
        raise ConversionFailed(f"“{label}”已加密，OCRmyPDF 无法处理：请上传未加密的版本")
    if returncode == ExitCode.input_file:
        raise ConversionFailed(
            f"OCRmyPDF 无法读取“{label}”（{_tail(stderr)}）：文件可能已损坏，请重新导出或扫描后上传")
    if returncode < 0:
        raise ConversionFailed(
            f"“{label}”的文字识别（OCRmyPDF）被信号 {-returncode} 终止：可能内存不足，请稍后重试")
    raise ConversionFailed(
        f"“{label}”的文字识别（OCRmyPDF）失败（退出码 {returncode}）：{_tail(stderr)}；"
        "请检查文件能否正常打开，必要时重新导出后上传")


_EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception)\b.*", re.MULTILINE)


def _tail(text: str) -> str:
    """The end of OCRmyPDF's log, where its reason stands; after a traceback, its exception line."""
    raised = [m.group(0) for m in _EXCEPTION_LINE.finditer(text or "")]
    return tail(raised[-1] if raised else text, 400)
