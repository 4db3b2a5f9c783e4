"""The normalisation ladder: plain rung functions, most faithful first.

Each rung turns one upload into a candidate PDF in its own folder; `normalise` then strips, writes and
checks the candidate, and keeps the first one that passes the full PDF/A-2b check. A rung that has
nothing to do for this file raises `RungSkipped`; one that fails raises ConversionFailed.

PDF rungs (the input is the sanitised copy: repaired by qpdf, active content stripped). Every PDF rung OCRs only
the pages without a text layer, and only runs OCRmyPDF when there is such a page (`ocr_pages_without_text`):
  ocrmypdf      (a) OCRmyPDF OCRs pages without text; nothing else is changed (PDF/A-2b is written by normalise).
  colour_fixes  (b) images and colours made checkable first: CMYK/YCCK JPEG to sRGB through its ICC
                    profile, JPEG 2000 re-encoded as JPEG, 16-bit images to 8 bits, one-colourant
                    Black DeviceN/Separation images to DeviceGray, a CMYK default colour space where
                    device CMYK is painted without an OutputIntent; then as (a).
  ghostscript   (c) Ghostscript rewrites the file as PDF/A-2b (colours to sRGB); then OCR of pages
                    without text.
  rasterised    (d) every page drawn at 300 dpi (black-and-white pages as 1 bit, large pages at a
                    lower resolution that keeps them under the pixel limit) and OCRed: the text
                    layer is the OCR's, the look is the renderer's.
Image rungs (JPEG, PNG): ocrmypdf (as uploaded, alpha flattened), colour_fixes (CMYK/YCCK to sRGB,
16-bit and palette images to 8-bit RGB or grey), rasterised (the decoded pixels, re-encoded plainly).
"""
from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import img2pdf
import pikepdf
from pikepdf import Array, Dictionary, Name
from pikepdf.models.image import PdfImage
from PIL import Image, ImageCms

from archive_store.errors import ConversionFailed
from pipeline.external.ghostscript import ghostscript_pdfa
from pipeline.external.ocrmypdf import run_ocrmypdf
from pipeline.external.poppler import pages_without_text, render_page

RUNG_LABELS = {
    "ocrmypdf": "第一级（常规转换：qpdf 修复、移除活动内容、无文字页经 OCRmyPDF 识别、转为 PDF/A-2b）",
    "colour_fixes": "第二级（先修正颜色与图像：CMYK 转 sRGB、JPEG 2000 重新编码、16 位图像转 8 位、补色彩配置）",
    "ghostscript": "第三级（Ghostscript 重写为 PDF/A-2b，再对无文字页 OCR）",
    "rasterised": "第四级（逐页栅格化为图像并 OCR：外观由渲染器绘制，文字层来自 OCR）",
    "libreoffice": "LibreOffice 转换（Word 文档）",
}
RUNG_SHORT_LABELS = {
    "ocrmypdf": "第一级（常规转换）", "colour_fixes": "第二级（先修正颜色与图像）",
    "ghostscript": "第三级（Ghostscript 重写）", "rasterised": "第四级（逐页栅格化并 OCR）",
    "libreoffice": "LibreOffice 转换",
}
OUTCOME_LABELS = {"kept": "采用", "violated": "不符合 PDF/A", "unconfirmed": "无法确认是否符合 PDF/A",
                  "failed": "转换失败", "skipped": "不适用"}
RASTER_DPI = 300
MAX_RASTER_PIXELS = 80_000_000      # per page: under Pillow's decompression-bomb warning (89 million)
MAX_RASTER_SIDE = 30_000            # Tesseract's limit is 32767 pixels a side
PROBE_DPI = 24
JPEG_QUALITY = 92
PIXEL_LIMIT = "DecompressionBombError"   # how OCRmyPDF's log names a page image past its pixel limit
CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")   # Debian package libgs-common
_BLACK_COLOURANTS = (Name.Black, Name("/K"))


class RungSkipped(Exception):
    """The rung has nothing to do for this file (reason in Chinese)."""


@dataclass(frozen=True)
class RungAttempt:
    """One rung tried on one upload: outcome, Chinese reasons, and the seconds it took."""

    rung: str
    outcome: str              # kept, violated, unconfirmed, failed, skipped
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_manifest(self) -> dict:
        """For the manifest: no seconds, so the same upload always gives the same manifest."""
        return {"rung": self.rung, "outcome": self.outcome, "reasons": list(self.reasons)}

    def remark(self, limit: int = 160) -> str:
        """"第一级无法确认是否符合 PDF/A（…）": the outcome with its first reasons, each cut to `limit`."""
        shown = [r if len(r) <= limit else r[:limit] + "…" for r in self.reasons[:3]]
        reasons = "；".join(shown) + ("等" if len(self.reasons) > 3 else "")
        return f"{RUNG_LABELS[self.rung].split('（')[0]}{OUTCOME_LABELS[self.outcome]}" + (f"（{reasons}）" if reasons else "")


@dataclass(frozen=True)
class RungInput:
    """What every rung gets: the file to start from, the upload's name, a folder and a deadline."""

    source: Path          # the sanitised PDF, or the image as uploaded
    label: str            # the upload's file name, for messages
    work: Path            # this rung's own empty folder
    deadline: float       # time.monotonic() by which the rung must be done
    timeout: float        # the rung's whole budget, for messages
    image_dpi: int | None = None
    earlier: tuple[RungAttempt, ...] = ()   # the rungs tried before this one

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ConversionFailed(f"“{self.label}”的转换超过 {self.timeout:g} 秒仍未完成，已中止")
        return left


@dataclass(frozen=True)
class Candidate:
    pdf: Path
    ocr_pages: int | None = None
    changes: list[str] = field(default_factory=list)   # what the rung changed (Chinese)


Rung = Callable[[RungInput], Candidate]


# --- PDF rungs ---------------------------------------------------------------------------------------------

def ocr_pages_without_text(pdf: Path, inp: RungInput) -> tuple[Path, int]:
    """(`pdf` with its pages that have no text OCRed, how many pages were OCRed). A PDF whose every page has a
    text layer is returned as it is: OCRmyPDF would only copy it (`--skip-text`), at the price of a process."""
    if pages_without_text(pdf, timeout=inp.remaining()) == []:
        return pdf, 0
    out = inp.work / "ocr.pdf"
    return out, run_ocrmypdf(pdf, out, label=inp.label, timeout=inp.remaining())


def pdf_ocrmypdf(inp: RungInput) -> Candidate:
    """(a) Today's path: the sanitised copy, its pages without text OCRed."""
    return Candidate(*ocr_pages_without_text(inp.source, inp))


def pdf_colour_fixes(inp: RungInput) -> Candidate:
    """(b) Make images and colours checkable, then OCRmyPDF."""
    fixed = inp.work / "colour-fixed.pdf"
    with pikepdf.open(inp.source) as pdf:
        changes = fix_pdf_colours(pdf)
        if not changes:
            raise RungSkipped("文件中没有需要修正的颜色或图像")
        pdf.save(fixed)
    return Candidate(*ocr_pages_without_text(fixed, inp), changes)


def pdf_ghostscript(inp: RungInput) -> Candidate:
    """(c) Ghostscript's PDF/A-2b, trusted only with its OutputIntent; then OCR of pages without text.

    Skipped when OCRmyPDF already refused the page images as too large: Ghostscript keeps their size."""
    if any(PIXEL_LIMIT in reason for attempt in inp.earlier for reason in attempt.reasons):
        raise RungSkipped("页面图像超过 OCRmyPDF 的像素上限，Ghostscript 重写不改变图像尺寸")
    rewritten = inp.work / "ghostscript.pdf"
    ghostscript_pdfa(inp.source, rewritten, work=inp.work, label=inp.label, timeout=inp.remaining())
    try:
        with pikepdf.open(rewritten) as pdf:
            intents = pdf.Root.get("/OutputIntents")
            if not (isinstance(intents, Array) and len(intents)):
                raise ConversionFailed("Ghostscript 的输出没有 PDF/A 输出意图（OutputIntent）")
    except pikepdf.PdfError as exc:
        raise ConversionFailed(f"Ghostscript 的输出无法读取（{exc}）") from None
    return Candidate(*ocr_pages_without_text(rewritten, inp), ["已由 Ghostscript 重写（颜色转换为 sRGB）"])


def pdf_rasterised(inp: RungInput) -> Candidate:
    """(d) Each page drawn by poppler and OCRed into a new PDF: always possible for a drawable page."""
    try:
        with pikepdf.open(inp.source) as pdf:
            sizes = [_page_size(page) for page in pdf.pages]
    except pikepdf.PdfError as exc:
        raise ConversionFailed(f"无法读取“{inp.label}”的页面尺寸（{exc}）") from None
    images, notes = [], []
    for number, (width, height) in enumerate(sizes, 1):
        dpi = raster_dpi(width, height)
        probe = render_page(inp.source, number, inp.work / f"probe-{number}", dpi=min(dpi, PROBE_DPI),
                            antialias=False, timeout=inp.remaining())
        kind = page_kind(probe)
        drawn = render_page(inp.source, number, inp.work / f"page-{number}", dpi=dpi, mode=kind,
                            timeout=inp.remaining())
        images.append(_as_png(drawn, dpi))
        if dpi < RASTER_DPI:
            notes.append(f"第 {number} 页幅面过大，按 {dpi:g} dpi 栅格化")
    raster = inp.work / "raster.pdf"
    raster.write_bytes(img2pdf.convert([str(p) for p in images]))
    out = inp.work / "ocr.pdf"
    pages = run_ocrmypdf(raster, out, label=inp.label, timeout=inp.remaining())
    kinds = "每页按原尺寸以 300 dpi 栅格化（黑白页为 1 位）"
    return Candidate(out, pages, [kinds, *notes])


PDF_RUNGS: tuple[tuple[str, Rung], ...] = (
    ("ocrmypdf", pdf_ocrmypdf),
    ("colour_fixes", pdf_colour_fixes),
    ("ghostscript", pdf_ghostscript),
    ("rasterised", pdf_rasterised),
)


def raster_dpi(width_pt: float, height_pt: float) -> float:
    """300 dpi, or less for a page so large that 300 dpi would pass the pixel limits."""
    inches = max(width_pt, 1) / 72, max(height_pt, 1) / 72
    limit = min(RASTER_DPI, math.sqrt(MAX_RASTER_PIXELS / (inches[0] * inches[1])),
                MAX_RASTER_SIDE / max(inches))
    return RASTER_DPI if limit >= RASTER_DPI else max(1, math.floor(limit))


def page_kind(probe: Path) -> str:
    """"mono", "gray" or "colour", from a small drawing made without anti-aliasing: a page that comes
    out pure black and white there is a black-and-white page."""
    with Image.open(probe) as image:
        rgb = image.convert("RGB")
        red, green, blue = rgb.split()
        if red.tobytes() != green.tobytes() or red.tobytes() != blue.tobytes():
            return "colour"
        values = {v for v, count in enumerate(red.histogram()) if count}
        return "mono" if values <= {0, 255} else "gray"


def _page_size(page: pikepdf.Page) -> tuple[float, float]:
    box = [float(v) for v in page.cropbox]
    width, height = abs(box[2] - box[0]), abs(box[3] - box[1])
    return (height, width) if int(page.obj.get("/Rotate", 0)) % 180 else (width, height)


def _as_png(drawn: Path, dpi: float) -> Path:
    """pdftoppm's PBM/PGM/PNG as a PNG that carries its resolution, so img2pdf keeps the page size."""
    png = drawn.with_suffix(".dpi.png")
    with Image.open(drawn) as image:
        image.save(png, dpi=(dpi, dpi))
    drawn.unlink()
    return png


# --- colour and image fixes (rung b) -----------------------------------------------------------------------

def fix_pdf_colours(pdf: pikepdf.Pdf) -> list[str]:
    """Rewrite what the check cannot confirm or does not allow into plain equivalents; say what changed."""
    changes: list[str] = []
    cmyk_images = False
    for obj in list(pdf.objects):
        if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == Name.Image:
            note = _fix_image(pdf, obj)
            if note:
                changes.append(note)
            cmyk_images = cmyk_images or obj.get("/ColorSpace") == Name.DeviceCMYK
    if (cmyk_images or _paints_device_cmyk(pdf)) and not isinstance(pdf.Root.get("/OutputIntents"), Array):
        _add_default_cmyk(pdf)
        changes.append("页面以设备 CMYK 着色且无输出意图：已加入 CMYK 默认色彩空间（DefaultCMYK）")
    return _unique(changes)


def _fix_image(pdf: pikepdf.Pdf, image: pikepdf.Stream) -> str | None:
    filters = _names(image.get("/Filter"))
    space = image.get("/ColorSpace")
    try:
        if "/JPXDecode" in filters:
            _rewrite_as_jpeg(image, _pixels(image))
            return "JPEG 2000 图像已解码并重新编码为 JPEG"
        if "/DCTDecode" in filters and _components(space) == 4:
            _rewrite_as_jpeg(image, to_srgb(_pixels(image), _icc_of(space)))
            return "CMYK/YCCK JPEG 图像已按其 ICC 色彩配置转换为 sRGB"
        if image.get("/BitsPerComponent") == 16:
            _rewrite_as_jpeg(image, _eight_bit(_pixels(image)))
            return "16 位图像已转换为 8 位"
        if _black_only(space) and image.get("/BitsPerComponent") == 1:
            # tint 1 is full black ink, grey 0 is black: the grey Decode is the tint Decode inverted
            low, high = (float(v) for v in image.get("/Decode", Array([0, 1])))
            image.ColorSpace = Name.DeviceGray
            image.Decode = Array([1 - low, 1 - high])
            return "单色墨（Black）DeviceN/Separation 图像已改用 DeviceGray（外观不变）"
    except Exception:  # noqa: BLE001 - an image that cannot be rewritten is left as it is for a later rung
        return None
    return None


def _pixels(image: pikepdf.Stream) -> Image.Image:
    return PdfImage(image).as_pil_image()


def _rewrite_as_jpeg(image: pikepdf.Stream, pixels: Image.Image) -> None:
    if pixels.mode not in ("RGB", "L"):
        pixels = pixels.convert("RGB")
    buffer = io.BytesIO()
    pixels.save(buffer, "JPEG", quality=JPEG_QUALITY)
    image.write(buffer.getvalue(), filter=Name.DCTDecode)
    image.ColorSpace = Name.DeviceRGB if pixels.mode == "RGB" else Name.DeviceGray
    image.BitsPerComponent = 8
    image.Width, image.Height = pixels.size
    for key in ("/Decode", "/DecodeParms", "/SMaskInData", "/Intent"):
        if key in image:
            del image[key]


def _eight_bit(pixels: Image.Image) -> Image.Image:
    if pixels.mode in ("I;16", "I;16B", "I", "F"):
        return pixels.point(lambda v: v / 256).convert("L")
    return pixels.convert("RGB")


def _components(space) -> int | None:
    if space == Name.DeviceCMYK:
        return 4
    if isinstance(space, Array) and len(space) == 2 and space[0] == Name.ICCBased:
        return int(space[1].get("/N", 0))
    return None


def _icc_of(space) -> bytes | None:
    if isinstance(space, Array) and len(space) == 2 and space[0] == Name.ICCBased:
        return space[1].read_bytes()
    return None


def _black_only(space) -> bool:
    if not isinstance(space, Array) or len(space) < 3:
        return False
    if space[0] == Name.Separation:
        return space[1] in _BLACK_COLOURANTS
    return space[0] == Name.DeviceN and isinstance(space[1], Array) and list(space[1]) in (
        [c] for c in _BLACK_COLOURANTS)


def _paints_device_cmyk(pdf: pikepdf.Pdf) -> bool:
    for page in pdf.pages:
        try:
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) in ("k", "K") or (str(operator) in ("cs", "CS") and operands
                                                   and operands[0] == Name.DeviceCMYK):
                    return True
        except pikepdf.PdfError:
            continue
    return False


def _add_default_cmyk(pdf: pikepdf.Pdf) -> None:
    profile = pdf.make_stream(CMYK_PROFILE.read_bytes(), N=4, Alternate=Name.DeviceCMYK)
    space = Array([Name.ICCBased, profile])
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        if not isinstance(resources, Dictionary):
            page.obj.Resources = resources = Dictionary()
        spaces = resources.get("/ColorSpace")
        if not isinstance(spaces, Dictionary):
            resources.ColorSpace = spaces = Dictionary()
        if "/DefaultCMYK" not in spaces:
            spaces.DefaultCMYK = space


def to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """A CMYK picture in sRGB, through its own ICC profile or, without one, Ghostscript's default CMYK."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc)) if icc else ImageCms.getOpenProfile(str(CMYK_PROFILE))
    return ImageCms.profileToProfile(image.convert("CMYK"), source, ImageCms.createProfile("sRGB"),
                                     outputMode="RGB")


# --- image rungs -------------------------------------------------------------------------------------------

def image_ocrmypdf(inp: RungInput) -> Candidate:
    """(a) The image as uploaded (alpha flattened onto white, which OCRmyPDF requires), OCRed."""
    with _decoded(inp) as image:
        if has_alpha(image):
            flat = inp.work / "flattened.png"
            on_white(image).save(flat)
            source = flat
        else:
            source = inp.source
    out = inp.work / "ocr.pdf"
    pages = run_ocrmypdf(source, out, label=inp.label, image_dpi=inp.image_dpi, timeout=inp.remaining())
    return Candidate(out, pages)


def image_colour_fixes(inp: RungInput) -> Candidate:
    """(b) CMYK/YCCK to sRGB through the embedded profile; 16-bit and palette images to 8-bit."""
    with _decoded(inp) as image:
        if image.mode == "CMYK":
            fixed, change = to_srgb(image, image.info.get("icc_profile")), "CMYK/YCCK 图像已按其 ICC 色彩配置转换为 sRGB"
        elif image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            fixed, change = _eight_bit(image), "16 位图像已转换为 8 位灰度"
        elif image.mode in ("P", "PA", "LA", "RGBA", "La", "RGBa") or has_alpha(image):
            fixed, change = on_white(image), "调色板或透明图像已转换为 8 位 RGB（透明处为白色）"
        else:
            raise RungSkipped("图像没有需要修正的颜色")
        path = inp.work / "fixed.jpg"
        fixed.save(path, "JPEG", quality=JPEG_QUALITY, dpi=(inp.image_dpi, inp.image_dpi))
    out = inp.work / "ocr.pdf"
    pages = run_ocrmypdf(path, out, label=inp.label, image_dpi=inp.image_dpi, timeout=inp.remaining())
    return Candidate(out, pages, [change])


def image_rasterised(inp: RungInput) -> Candidate:
    """(d) The decoded pixels re-encoded as a plain 8-bit PNG (RGB, grey or 1-bit), scaled down past the
    pixel limit, then OCRed."""
    with _decoded(inp) as image:
        plain = on_white(image) if image.mode not in ("1", "L", "RGB") else image.copy()
    changes = ["图像像素已重新编码为普通 PNG"]
    if plain.width * plain.height > MAX_RASTER_PIXELS:
        scale = math.sqrt(MAX_RASTER_PIXELS / (plain.width * plain.height))
        plain = plain.resize((max(1, int(plain.width * scale)), max(1, int(plain.height * scale))))
        changes.append(f"图像过大，已按 {scale:.2f} 倍缩小")
    path = inp.work / "plain.png"
    plain.save(path)
    out = inp.work / "ocr.pdf"
    dpi = inp.image_dpi if plain.width * plain.height <= MAX_RASTER_PIXELS else None
    pages = run_ocrmypdf(path, out, label=inp.label, image_dpi=dpi, timeout=inp.remaining())
    return Candidate(out, pages, changes)


IMAGE_RUNGS: tuple[tuple[str, Rung], ...] = (
    ("ocrmypdf", image_ocrmypdf),
    ("colour_fixes", image_colour_fixes),
    ("rasterised", image_rasterised),
)


class _decoded:
    """The upload decoded in full (a truncated file fails here, not later), closed afterwards."""

    def __init__(self, inp: RungInput):
        self.inp = inp

    def __enter__(self) -> Image.Image:
        self.image = Image.open(self.inp.source)
        self.image.load()
        return self.image

    def __exit__(self, *exc) -> None:
        self.image.close()


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


# --- helpers -----------------------------------------------------------------------------------------------

def _names(value) -> list[str]:
    if isinstance(value, Array):
        return [str(v) for v in value]
    return [str(value)] if value is not None else []


def _unique(items) -> list:
    return list(dict.fromkeys(items))
