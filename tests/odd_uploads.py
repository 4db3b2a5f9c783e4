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


def ycck_jpeg(path: Path) -> Path:
    """The same scan as an Adobe YCCK JPEG (CMY stored as YCbCr, K apart), as Photoshop and some
    scanners write CMYK. Pillow cannot write YCCK, so the channels are prepared and the Adobe
    marker's transform flag set to 2 (libjpeg then converts YCC back to CMY on reading)."""
    cmyk = scan_image("CMYK")
    c, m, y, k = cmyk.split()
    luma, blue, red = Image.merge("RGB", (c, m, y)).convert("YCbCr").split()
    invert = [255 - v for v in range(256)]
    # Pillow stores CMYK inverted (the Adobe convention), so what goes in is inverted once more
    stored = Image.merge("CMYK", (luma.point(invert), blue.point(invert), red.point(invert), k))
    stored.save(path, "JPEG", quality=90, dpi=(150, 150))
    data = bytearray(path.read_bytes())
    adobe = data.index(b"Adobe\x00")
    data[adobe + 11] = 2
    path.write_bytes(bytes(data))
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


def truncated_jpeg_pdf(path: Path) -> Path:
    """A scanned page whose JPEG data stops three quarters of the way (a copy cut short): viewers draw what is
    there, the text included, but the image stream cannot be decoded to its end, which `qpdf --check` reports."""
    image = scan_image("L")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()

    def build(pdf):
        xobject = _image_xobject(pdf, data[: len(data) * 3 // 4], image.width, image.height, Filter=Name.DCTDecode,
                                 ColorSpace=Name.DeviceGray, BitsPerComponent=8)
        return Dictionary(XObject=Dictionary(Im0=xobject))

    return _page_pdf(path, b"q %.1f 0 0 %.1f 0 0 cm /Im0 Do Q" % A4, Dictionary(), build=build)


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


def large_monochrome_pdf(path: Path, *, inches=(100, 72), dpi=300) -> Path:
    """A large-format drawing scanned in black and white: one 1-bit page of 648 million pixels, past
    the decompression-bomb limit OCRmyPDF gives Pillow (twice its 250 million): OCRmyPDF exits 15."""
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


# --- refusal classes ---------------------------------------------------------------------------------------

def dynamic_xfa_pdf(path: Path) -> Path:
    """A dynamic XFA form as LiveCycle Designer saves it: one placeholder page, NeedsRendering true."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=A4)
    pdf.pages[0].Contents = pdf.make_stream(b"")
    xfa = pdf.make_stream(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template/></xdp:xdp>')
    pdf.Root.AcroForm = Dictionary(Fields=Array([]), XFA=xfa)
    pdf.Root.NeedsRendering = True
    pdf.save(path)
    return path


# --- a folder of odd PDFs, for the fuzz-style test ---------------------------------------------------------

def raw_pdf(bodies: list[bytes], *, header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", xref: bool = True) -> bytes:
    """A PDF written byte by byte (objects 1..n, object 1 the catalog), to control every construct."""
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    start = len(out)
    if xref:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, start)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), extra, data)


def _one_page(page: bytes, *more: bytes) -> list[bytes]:
    return [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, *more]


TEXT = b"BT /F1 24 Tf 72 700 Td (Rectification report 2025) Tj ET"
HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def odd_pdfs(folder: Path, base: Path, *, seed: int = 18) -> list[Path]:
    """Odd but plausible PDFs (and a few that are not PDFs at all) written into `folder`."""
    import random

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R %s >>"
    files = {
        "零尺寸页面.pdf": raw_pdf(_one_page(page % (b"[0 0 0 0]", b""), _stream(TEXT), HELVETICA)),
        "倒置页面框.pdf": raw_pdf(_one_page(page % (b"[595 842 0 0]", b""), _stream(TEXT), HELVETICA)),
        "旋转页面-字体未嵌入.pdf": raw_pdf(_one_page(page % (b"[0 0 595 842]", b"/Rotate 90"), _stream(TEXT),
                                                   HELVETICA)),
        "内容流乱码.pdf": raw_pdf(_one_page(page % (b"[0 0 595 842]", b""),
                                            _stream(b"BT /F9 12 Tf ( Tj ET q 1 0 0 cm Q Q Q xyz 5 re f ]"),
                                            HELVETICA)),
        "缺少内容流.pdf": raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                   b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]),
        "交叉引用表错误.pdf": raw_pdf(_one_page(page % (b"[0 0 595 842]", b""), _stream(TEXT), HELVETICA),
                                    xref=False),
        "图像数据损坏.pdf": raw_pdf(_one_page(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> "
            b"/Contents 4 0 R >>", _stream(b"q 500 0 0 700 40 60 cm /Im0 Do Q"),
            _stream(bytes(rng.randrange(256) for _ in range(3000)),
                    b"/Type /XObject /Subtype /Image /Width 400 /Height 560 /ColorSpace /DeviceRGB "
                    b"/BitsPerComponent 8 /Filter /DCTDecode"))),
        "页面树自引用.pdf": raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                                    b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]),
        "只有文件头.pdf": b"%PDF-1.7\n%%EOF\n",
        "压缩包改名.pdf": b"PK\x03\x04" + bytes(200),
        "PDF2.0文件头.pdf": raw_pdf(_one_page(page % (b"[0 0 595 842]", b""), _stream(TEXT), HELVETICA),
                                  header=b"%PDF-2.0\n%\xe2\xe3\xcf\xd3\n"),
    }
    data = base.read_bytes()
    for n in range(1):
        flipped = bytearray(data)
        for _ in range(20):
            at = rng.randrange(len(flipped) // 4, len(flipped))
            flipped[at] = rng.randrange(256)
        files[f"随机损坏-{n + 1}.pdf"] = bytes(flipped)
    paths = []
    for name, content in files.items():
        (folder / name).write_bytes(content)
        paths.append(folder / name)
    return paths
