"""Ghostscript's `pdfwrite` to PDF/A-2b, driven directly (OCRmyPDF refuses Debian 12's gs 10.0.0).

Ghostscript writes an OutputIntent only when its PDFA_def.ps can open an ICC profile; under -dSAFER it
needs `--permit-file-read` for that file, and a relative profile name is not found, so a copy of
Debian's PDFA_def.ps is written with the absolute path of Ghostscript's own sRGB profile. Colours are
converted to RGB to match that profile. Callers check the output (OutputIntent included) themselves.
The run has its own process group (`process.run`), so a time-out stops it completely.
"""
from __future__ import annotations

import os
from pathlib import Path

from archive_store.errors import ConversionFailed, ExternalProgramError
from pipeline.external.process import Program, run, tail

DEBIAN_PACKAGE = "ghostscript"
GS = Program("gs", (DEBIAN_PACKAGE,))
SRGB_PROFILE = Path("/usr/share/color/icc/ghostscript/srgb.icc")   # Debian package libgs-common
DEFAULT_TIMEOUT = 180

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
    return [GS.name, "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-dPDFA=2", "-dPDFACompatibilityPolicy=1",
            "-sDEVICE=pdfwrite", "-sColorConversionStrategy=RGB", "-sProcessColorModel=DeviceRGB",
            f"--permit-file-read={os.fspath(profile)}", f"-sOutputFile={os.fspath(Path(dest).absolute())}",
            os.fspath(Path(definition).absolute()), os.fspath(Path(src).absolute())]


def ghostscript_pdfa(src: Path, dest: Path, *, work: Path, label: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Rewrite `src` as PDF/A-2b at `dest` with an sRGB OutputIntent; `label` names the upload in messages."""
    definition = Path(work) / "PDFA_def.ps"
    definition.write_text(pdfa_def(), encoding="latin-1")
    cmd = ghostscript_command(src, dest, definition)
    done = run(GS, cmd, what=f"转换“{label}”", timeout=timeout, timed_out=lambda: ConversionFailed(
        f"Ghostscript 转换“{label}”超过 {timeout:g} 秒仍未完成，已中止"))
    text = f"{done.stdout}\n{done.stderr}"
    if done.returncode != 0 or not Path(dest).is_file() or Path(dest).stat().st_size == 0:
        raise ConversionFailed(f"Ghostscript 未能将“{label}”转换为 PDF/A-2b（退出码 {done.returncode}）：{_reason(text)}")
    if "cannot open the ICC profile" in text:
        raise ExternalProgramError(
            f"Ghostscript 无法读取 sRGB 色彩配置文件 {SRGB_PROFILE}：请确认 Debian 软件包 {DEBIAN_PACKAGE} 安装完好")


def _ps_string(text: str) -> str:
    """`text` as the inside of a PostScript (string): backslashes and parentheses escaped."""
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _reason(text: str) -> str:
    """Ghostscript's own error lines ("**** Error: ...", "Error: /rangecheck in ..."), not its stack dump."""
    errors = [" ".join(line.replace("****", "").split()) for line in text.splitlines() if "Error" in line]
    return "；".join(dict.fromkeys(errors[:4])) if errors else tail(text, 400)
