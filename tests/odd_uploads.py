"""Uploads of the kinds bureaus really send and the first pipeline refused, made here with Pillow,
pikepdf and Ghostscript so that each test knows exactly which construct it carries."""
from __future__ import annotations

import io
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, String
from PIL import Image, ImageDraw, ImageFont

CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
A4 = (595.3, 841.9)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(CJK_FONT, size)


def scan_image(mode: str = "RGB", size=(1240, 1754), text: str = "整改复查记录 合格") -> Image.Image:
    """A page-like picture with large Chinese text, as a scanner at 150 dpi gives."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((120, 200), text, fill="black", font=_font(72))
    draw.rectangle((120, 400, size[0] - 120, 700), outline=(200, 30, 30), width=8)
    if mode == "1":   # thresholded, not dithered: a copier's text mode
        return image.convert("L").point(lambda v: 255 if v > 160 else 0).convert("1", dither=Image.Dither.NONE)
    return image.convert(mode) if mode != "RGB" else image


def cmyk_jpeg(path: Path) -> Path:
    """A CMYK JPEG with an embedded CMYK ICC profile (Adobe marker, inverted), as scanners write."""
    scan_image("CMYK").save(path, "JPEG", quality=85, dpi=(150, 150),
                            icc_profile=CMYK_PROFILE.read_bytes())
    return path


def _page_pdf(path: Path, content: bytes, resources: Dictionary, *, build=None, size=A4) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=size)
    page = pdf.pages[0]
    page.Resources = resources if build is None else build(pdf)
    page.Contents = pdf.make_stream(content)
    pdf.save(path)
    return path


def _image_xobject(pdf: pikepdf.Pdf, data: bytes, width: int, height: int, **entries) -> pikepdf.Stream:
    return pikepdf.Stream(pdf, data, Type=Name.XObject, Subtype=Name.Image, Width=width, Height=height,
                          **entries)


def jpeg2000_pdf(path: Path) -> Path:
    """A PDF whose page is one JPEG 2000 (JPXDecode) image, as some scanners and archives make."""
    image = scan_image()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[20])

    def build(pdf):
        xobject = _image_xobject(pdf, buffer.getvalue(), image.width, image.height, Filter=Name.JPXDecode)
        return Dictionary(XObject=Dictionary(Im0=xobject))
    return _page_pdf(path, b"q 595.3 0 0 841.9 0 0 cm /Im0 Do Q", Dictionary(), build=build)


def type3_pdf(path: Path) -> Path:
    """Text set in a Type 3 font (glyphs drawn by content streams), as TeX and old drivers write."""
    def build(pdf):
        square = pdf.make_stream(b"1000 0 0 0 750 750 d1 0 0 750 750 re f")
        bar = pdf.make_stream(b"1000 0 0 0 750 750 d1 0 300 750 150 re f")
        font = pdf.make_indirect(Dictionary(
            Type=Name.Font, Subtype=Name.Type3, FontBBox=Array([0, 0, 750, 750]),
            FontMatrix=Array([0.001, 0, 0, 0.001, 0, 0]), CharProcs=Dictionary(square=square, bar=bar),
            Encoding=Dictionary(Type=Name.Encoding, Differences=Array([65, Name.square, Name.bar])),
            FirstChar=65, LastChar=66, Widths=Array([1000, 1000]), Resources=Dictionary()))
        return Dictionary(Font=Dictionary(T3=font))
    return _page_pdf(path, b"BT /T3 36 Tf 72 700 Td (ABABAB) Tj ET", Dictionary(), build=build)


def pattern_pdf(path: Path) -> Path:
    """A shaded table: an axial shading painted with `sh`, a tiling pattern and a shading pattern
    used as fill colours (pattern colour spaces), with an sRGB OutputIntent-free DeviceRGB."""
    def build(pdf):
        function = Dictionary(FunctionType=2, Domain=Array([0, 1]), C0=Array([1, 1, 1]),
                              C1=Array([0.2, 0.4, 0.8]), N=1)
        shading = Dictionary(ShadingType=2, ColorSpace=Name.DeviceRGB, Coords=Array([72, 0, 520, 0]),
                             Function=function, Extend=Array([True, True]))
        tile = pdf.make_stream(b"0 0 0 rg 0 0 4 4 re f", Type=Name.Pattern, PatternType=1, PaintType=1,
                               TilingType=1, BBox=Array([0, 0, 8, 8]), XStep=8, YStep=8,
                               Resources=Dictionary())
        shaded = Dictionary(Type=Name.Pattern, PatternType=2, Shading=shading)
        return Dictionary(Shading=Dictionary(Sh0=shading), Pattern=Dictionary(P0=tile, P1=shaded))
    content = (b"q 72 600 448 150 re W n /Sh0 sh Q "
               b"/Pattern cs /P0 scn 72 400 448 150 re f "
               b"/Pattern cs /P1 scn 72 200 448 150 re f")
    return _page_pdf(path, content, Dictionary(), build=build)


def device_colour_pdf(path: Path) -> Path:
    """Device CMYK and RGB fills with no OutputIntent, as office printers' PDF drivers write."""
    content = (b"0 0 0 1 k 72 600 200 100 re f 0 1 1 0 k 300 600 200 100 re f "
               b"1 0 0 rg 72 400 200 100 re f 0.5 g 300 400 200 100 re f")
    return _page_pdf(path, content, Dictionary())


def large_monochrome_pdf(path: Path, *, inches=(60, 42), dpi=300) -> Path:
    """A large-format drawing scanned in black and white: one 1-bit page bigger than OCRmyPDF's
    pixel limit."""
    width, height = int(inches[0] * dpi), int(inches[1] * dpi)
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    for x in range(0, width, dpi):
        draw.line((x, 0, x, height), fill=0, width=3)
    draw.text((dpi, dpi), "总平面图 检测线布置", fill=0, font=_font(dpi))
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", compression="group4", strip_size=1 << 30)   # one strip
    g4 = _tiff_strip(buffer.getvalue())

    def build(pdf):
        xobject = _image_xobject(pdf, g4, width, height, ColorSpace=Name.DeviceGray, BitsPerComponent=1,
                                 Filter=Name.CCITTFaxDecode,
                                 DecodeParms=Dictionary(K=-1, Columns=width, Rows=height, BlackIs1=False))
        return Dictionary(XObject=Dictionary(Im0=xobject))
    size = (inches[0] * 72, inches[1] * 72)
    return _page_pdf(path, b"q %d 0 0 %d 0 0 cm /Im0 Do Q" % size, Dictionary(), build=build, size=size)


def _tiff_strip(tiff: bytes) -> bytes:
    """The compressed data of a one-strip TIFF (Pillow writes one strip for group4)."""
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None   # only the tags are read
    try:
        with Image.open(io.BytesIO(tiff)) as image:
            offsets, counts = image.tag_v2[273], image.tag_v2[279]
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    return b"".join(tiff[o:o + c] for o, c in zip(offsets, counts))


def jbig2_devicen_pdf(path: Path) -> Path:
    """A JBIG2 image (generic region, MMR-coded) in a one-colourant DeviceN space, as some copiers write."""
    width, height = 1240, 1754
    image = scan_image("1", (width, height))
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", compression="group4", strip_size=1 << 30)   # one strip
    mmr = _tiff_strip(buffer.getvalue())
    page_info = _segment(0, 48, (width.to_bytes(4, "big") + height.to_bytes(4, "big")
                                 + (150).to_bytes(4, "big") * 2 + b"\x00" + b"\x00\x00"))
    region_info = (width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes(8) + b"\x00")
    region = _segment(1, 38, region_info + b"\x01" + mmr)
    data = page_info + region

    def build(pdf):
        tint = pdf.make_stream(b"{0 0 0 4 -1 roll}", FunctionType=4,
                               Domain=Array([0, 1]), Range=Array([0, 1, 0, 1, 0, 1, 0, 1]))
        space = Array([Name.DeviceN, Array([Name.Black]), Name.DeviceCMYK, tint])
        xobject = _image_xobject(pdf, data, width, height, ColorSpace=space, BitsPerComponent=1,
                                 Filter=Name.JBIG2Decode)
        return Dictionary(XObject=Dictionary(Im0=xobject))
    return _page_pdf(path, b"q 595.3 0 0 841.9 0 0 cm /Im0 Do Q", Dictionary(), build=build)


def _segment(number: int, kind: int, body: bytes) -> bytes:
    """A JBIG2 segment header (page 1, no referred segments) and its data."""
    return (number.to_bytes(4, "big") + bytes([kind]) + b"\x00" + b"\x01" + len(body).to_bytes(4, "big")
            + body)


def latin1_docinfo_pdf(path: Path, base: Path) -> Path:
    """`base` with DocInfo keys that are Latin-1 bytes, not UTF-8 (/Verfasser#E4, /Schl#FCssel)."""
    with pikepdf.open(base) as pdf:
        pdf.docinfo[Name("/XXXXXXXXXXXX")] = String("Müller")
        pdf.docinfo[Name("/XXXXXXXXXXX")] = String("Prüfbericht")
        pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.disable, compress_streams=True)
    data = path.read_bytes()
    # same lengths, so the cross-reference offsets stay right
    data = data.replace(b"/XXXXXXXXXXXX", b"/Verfasser#E4").replace(b"/XXXXXXXXXXX", b"/Schl#FCssel")
    path.write_bytes(data)
    return path
