"""Ghostscript's `pdfwrite` to PDF/A-2b, driven directly (OCRmyPDF refuses Debian 12's gs 10.0.0).

Ghostscript writes an OutputIntent only when its PDFA_def.ps can open an ICC profile; under -dSAFER it
needs `--permit-file-read` for that file, and a relative profile name is not found, so a copy of
Debian's PDFA_def.ps is written with the absolute path of Ghostscript's own sRGB profile. Colours are
converted to RGB to match that profile. Callers check the output (OutputIntent included) themselves.
The run has its own process group, so a time-out stops it completely.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from archive_store.errors import ConversionFailed, ExternalProgramError

GS = "gs"
DEBIAN_PACKAGE = "ghostscript"
SRGB_PROFILE = Path("/usr/share/color/icc/ghostscript/srgb.icc")   # Debian package libgs-common
DEFAULT_TIMEOUT = 180
_CHARS_OF_OUTPUT = 400

# Debian's /usr/share/ghostscript/*/lib/PDFA_def.ps, with the profile's absolute path put in.
_PDFA_DEF = """%!
[ /Title ({title}) /DOCINFO pdfmark
/ICCProfile ({profile}) def
[/_objdef {{icc_PDFA}} /type /stream /OBJ pdfmark
[{{icc_PDFA}} << /N 3 >> /PUT pdfmark
[{{icc_PDFA}} {{ICCProfile (r) file}} stopped
{{ (yuetan: cannot open the ICC profile) = cleartomark }}
{{ /PUT pdfmark
   [/_objdef {{OutputIntent_PDFA}} /type /dict /OBJ pdfmark
   [{{OutputIntent_PDFA}} << /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {{icc_PDFA}}
      /OutputConditionIdentifier (sRGB) >> /PUT pdfmark
   [{{Catalog}} << /OutputIntents [ {{OutputIntent_PDFA}} ] >> /PUT pdfmark }} ifelse
"""


def pdfa_def(profile: Path = SRGB_PROFILE, title: str = "") -> str:
    """The PostScript prologue that gives the output its sRGB OutputIntent."""
    return _PDFA_DEF.format(title=_ps_string(title), profile=_ps_string(os.fspath(profile)))


def ghostscript_command(src: Path, dest: Path, definition: Path, profile: Path = SRGB_PROFILE) -> list[str]:
    """The command line, kept separate so it can be logged and tested without running it."""
    return [GS, "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-dPDFA=2", "-dPDFACompatibilityPolicy=1",
            "-sDEVICE=pdfwrite", "-sColorConversionStrategy=RGB", "-sProcessColorModel=DeviceRGB",
            f"--permit-file-read={os.fspath(profile)}", f"-sOutputFile={os.fspath(Path(dest).absolute())}",
            os.fspath(Path(definition).absolute()), os.fspath(Path(src).absolute())]


def ghostscript_pdfa(src: Path, dest: Path, *, work: Path, label: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Rewrite `src` as PDF/A-2b at `dest` with an sRGB OutputIntent; `label` names the upload in messages."""
    definition = Path(work) / "PDFA_def.ps"
    definition.write_text(pdfa_def(), encoding="latin-1")
    cmd = ghostscript_command(src, dest, definition)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=work,
                                start_new_session=True)
    except FileNotFoundError:
        raise ExternalProgramError(
            f"未找到 Ghostscript（gs），无法转换“{label}”：请安装 Debian 软件包 {DEBIAN_PACKAGE}"
            f"（apt-get install {DEBIAN_PACKAGE}）") from None
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ConversionFailed(f"Ghostscript 转换“{label}”超过 {timeout:g} 秒仍未完成，已中止") from None
    except BaseException:
        _kill_group(proc)
        raise
    text = output.decode("utf-8", "replace")
    if proc.returncode != 0 or not Path(dest).is_file() or Path(dest).stat().st_size == 0:
        raise ConversionFailed(f"Ghostscript 未能将“{label}”转换为 PDF/A-2b（退出码 {proc.returncode}）：{_reason(text)}")
    if "cannot open the ICC profile" in text:
        raise ExternalProgramError(
            f"Ghostscript 无法读取 sRGB 色彩配置文件 {SRGB_PROFILE}：请确认 Debian 软件包 {DEBIAN_PACKAGE} 安装完好")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def _ps_string(text: str) -> str:
    """`text` as the inside of a PostScript (string): backslashes and parentheses escaped."""
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _reason(text: str) -> str:
    """Ghostscript's own error lines ("**** Error: ...", "Error: /rangecheck in ..."), not its stack dump."""
    errors = [" ".join(line.replace("****", "").split()) for line in text.splitlines() if "Error" in line]
    return "；".join(dict.fromkeys(errors[:4])) if errors else _tail(text)


def _tail(text: str) -> str:
    text = " ".join(text.split())
    return ("…" + text[-_CHARS_OF_OUTPUT:]) if len(text) > _CHARS_OF_OUTPUT else (text or "（无输出）")
