"""normalise_upload with the real tools: real uploads become searchable PDF/A-2b, hostile ones are
refused or defused, and nothing partial is ever left at the destination."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String
from PIL import Image

from archive_store.errors import (
    ConversionFailed,
    ExternalProgramError,
    InvalidArgument,
    InvalidCase,
)
from pipeline.case.media import DOCX, JPEG, PDF, PNG
from pipeline.external import ocrmypdf as ocr
from pipeline.pdf.normalise import NormalisedUpload, normalise_upload, sniff_media_type
from pipeline.pdf.pdfa import active_content, check_pdfa

from .conftest import EXAMPLES

ONSITE = EXAMPLES / "institution-onsite"
PLAN = ONSITE / "整改方案.pdf"
REPORT = ONSITE / "整改报告.pdf"
SCAN = ONSITE / "现场复查记录.jpg"
SCREENSHOT = EXAMPLES / "refused-to-sign" / "检测线监控截图.png"
WORD = EXAMPLES / "bureau-video" / "九江市局整改方案.docx"


pytestmark = pytest.mark.usefixtures("private_tempdir")


@pytest.fixture(scope="module")
def examples_done(tmp_path_factory) -> dict[str, NormalisedUpload]:
    """The real uploads, normalised once for the module (OCR is the slow part)."""
    out = tmp_path_factory.mktemp("normalised")
    before = {p: _sha256(p) for p in (PLAN, REPORT, SCAN, SCREENSHOT)}
    done = {p.name: normalise_upload(p, out / f"{p.stem}.pdf") for p in before}
    assert {p: _sha256(p) for p in before} == before, "an original upload was modified"
    return done


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_of(pdf: Path) -> str:
    """The text layer as pdftotext reads it, without the spaces OCR puts between Chinese characters."""
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout
    return re.sub(r"\s+", "", text.decode("utf-8"))


def fonts_of(pdf: Path) -> set[str]:
    """The embedded fonts' names as pdffonts lists them, without the subset prefix."""
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True, text=True).stdout
    return {line.split()[0].split("+")[-1] for line in listing.splitlines()[2:]}


def refusal(src: Path, dest: Path, **kwargs) -> str:
    """Normalise `src`, expect a refusal naming the file, prove nothing was written; return the message."""
    with pytest.raises(InvalidCase) as exc:
        normalise_upload(src, dest, **kwargs)
    assert [p.path for p in exc.value.problems] == [src.name]
    assert src.name in str(exc.value)
    assert_nothing_at(dest)
    return exc.value.problems[0].message


def assert_nothing_at(dest: Path) -> None:
    """No output and no temporary file in the (dedicated) output folder."""
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []


# --- media types -------------------------------------------------------------------------------------------

def test_sniff_media_type_reads_content(tmp_path):
    assert sniff_media_type(PLAN) == PDF
    assert sniff_media_type(SCAN) == JPEG
    assert sniff_media_type(SCREENSHOT) == PNG
    assert sniff_media_type(WORD) == DOCX
    (tmp_path / "a.txt").write_text("%PD not quite", encoding="utf-8")
    assert sniff_media_type(tmp_path / "a.txt") is None
    with zipfile.ZipFile(tmp_path / "b.docx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    assert sniff_media_type(tmp_path / "b.docx") is None


# --- real uploads ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, words", [("整改方案.pdf", "整改方案"), ("整改报告.pdf", "整改落实情况")])
def test_text_pdf_becomes_pdfa_without_ocr(examples_done, name, words):
    done = examples_done[name]
    assert done.media_type == PDF and done.page_count == 1
    assert done.ocr_pages == 0 and done.removed == [] and done.repaired == []
    assert check_pdfa(done.pdf, expect_part=2) == []
    assert words in text_of(done.pdf)
    with pikepdf.open(done.source) as original, pikepdf.open(done.pdf) as pdf:
        assert pdf.Root.Lang == original.Root.Lang, "a language the upload declares is kept"


def test_scanned_jpeg_is_ocred_into_searchable_pdfa(examples_done):
    done = examples_done["现场复查记录.jpg"]
    assert (done.media_type, done.ocr_pages, done.page_count) == (JPEG, 1, 1)
    assert check_pdfa(done.pdf, expect_part=2) == []
    text = text_of(done.pdf)
    assert "现场复查" in text and "整改到位" in text
    assert fonts_of(done.pdf) == {"YuetanGlyphless"}, "the invisible text layer is in the small glyphless font"
    with pikepdf.open(done.pdf) as pdf:
        assert str(pdf.Root.Lang) == "zh-CN"


def test_screenshot_without_dpi_gets_150_dpi(examples_done):
    with Image.open(SCREENSHOT) as image:
        assert "dpi" not in image.info and image.width == 1280
    done = examples_done["检测线监控截图.png"]
    assert (done.media_type, done.ocr_pages) == (PNG, 1)
    assert check_pdfa(done.pdf, expect_part=2) == []
    with pikepdf.open(done.pdf) as pdf:
        width = float(pdf.pages[0].mediabox[2]) - float(pdf.pages[0].mediabox[0])
    assert width == pytest.approx(1280 / 150 * 72, abs=1)
    assert "检测线" in text_of(done.pdf)
    assert fonts_of(done.pdf) == {"YuetanGlyphless"}


def test_png_with_alpha_channel_is_flattened(tmp_path):
    src = tmp_path / "截图-透明.png"
    with Image.open(SCREENSHOT) as image:
        image.convert("RGBA").save(src)
    done = normalise_upload(src, tmp_path / "out.pdf")
    assert check_pdfa(done.pdf, expect_part=2) == []


# --- refused uploads ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("user_password", ["secret", ""])
def test_encrypted_pdf_is_refused(tmp_path, user_password):
    src = tmp_path / "加密.pdf"
    with pikepdf.open(PLAN) as pdf:
        pdf.save(src, encryption=pikepdf.Encryption(owner="owner", user=user_password))
    assert refusal(src, tmp_path / "out" / "加密.pdf") == "PDF 已加密，无法归档：请上传未加密的版本"


def test_pdf_cut_in_half_is_refused(tmp_path):
    """Cut before its trailer, a LibreOffice PDF cannot be rebuilt by qpdf: refused."""
    src = tmp_path / "截断.pdf"
    data = PLAN.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    assert "PDF 已损坏或不完整，无法修复" in refusal(src, tmp_path / "out" / "out.pdf")


def test_pdf_missing_its_end_is_repaired(tmp_path):
    """Without startxref and %%EOF but with its trailer, qpdf rebuilds the file: accepted, repairs noted."""
    src = tmp_path / "缺尾.pdf"
    data = PLAN.read_bytes()
    src.write_bytes(data[: data.rindex(b"startxref")])
    done = normalise_upload(src, tmp_path / "out.pdf")
    assert any("reconstruct" in note for note in done.repaired)
    assert check_pdfa(done.pdf, expect_part=2) == []
    assert "整改方案" in text_of(done.pdf)


def test_text_file_named_pdf_is_refused(tmp_path):
    src = tmp_path / "伪装.pdf"
    src.write_text("这不是 PDF，只是文字。\n", encoding="utf-8")
    assert "内容是无法识别的内容" in refusal(src, tmp_path / "out" / "out.pdf")


def test_truncated_jpeg_is_refused(tmp_path):
    src = tmp_path / "半张.jpg"
    data = SCAN.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    assert "图像已损坏或不完整" in refusal(src, tmp_path / "out" / "out.pdf")


def test_png_named_jpg_is_refused(tmp_path):
    src = tmp_path / "截图.jpg"
    src.write_bytes(SCREENSHOT.read_bytes())
    assert "扩展名表明是JPEG 图像，但内容是PNG 图像" in refusal(src, tmp_path / "out" / "out.pdf")


@pytest.mark.parametrize("name, content", [("说明.txt", b"text"), ("空.pdf", b"")])
def test_unsupported_or_empty_upload_is_refused(tmp_path, name, content):
    src = tmp_path / name
    src.write_bytes(content)
    refusal(src, tmp_path / "out" / "out.pdf")


def test_destination_must_not_be_the_original(tmp_path):
    with pytest.raises(InvalidArgument):
        normalise_upload(PLAN, PLAN)


# --- hostile PDF -------------------------------------------------------------------------------------------

def hostile_pdf(path: Path) -> None:
    """整改方案.pdf plus a scanned page, with JavaScript, a Launch link, an outward URI link, page
    additional actions, an embedded program and a form with XFA."""
    with pikepdf.open(PLAN) as pdf:
        _add_scanned_page(pdf)
        page = pdf.pages[0].obj
        script = pdf.make_indirect(Dictionary(Type=Name.Action, S=Name.JavaScript, JS=String("app.alert('x')")))
        pdf.Root.OpenAction = script
        pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("init"), script])))
        page.AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String("this.print()")))
        launch = _link(pdf, Dictionary(Type=Name.Action, S=Name.Launch, F=String("cmd.exe")))
        uri = _link(pdf, Dictionary(S=Name.URI, URI=String("http://example.invalid/")))
        field = _text_field(pdf, page)
        page.Annots = Array([launch, uri, field])
        pdf.Root.AcroForm = Dictionary(Fields=Array([field]), XFA=pdf.make_stream(b"<xdp:xdp/>"))
        pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00",
                                                                  mime_type="application/octet-stream")
        pdf.save(path)


def _add_scanned_page(pdf: pikepdf.Pdf) -> None:
    with Image.open(SCAN) as image:
        width, height = image.size
    scan = pikepdf.Stream(pdf, SCAN.read_bytes(), Type=Name.XObject, Subtype=Name.Image, Width=width,
                          Height=height, ColorSpace=Name.DeviceGray, BitsPerComponent=8, Filter=Name.DCTDecode)
    page = pdf.add_blank_page(page_size=(595.3, 841.9))
    page.Resources = Dictionary(XObject=Dictionary(Im0=scan))
    page.Contents = pdf.make_stream(b"q 595.3 0 0 841.9 0 0 cm /Im0 Do Q")


def _link(pdf: pikepdf.Pdf, action: Dictionary) -> Dictionary:
    return pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([72, 72, 200, 90]),
                                        Border=Array([0, 0, 0]), F=4, A=action))


def _text_field(pdf: pikepdf.Pdf, page: Dictionary) -> Dictionary:
    """A filled-in field whose appearance is a box (no font, so flattening adds none)."""
    look = pdf.make_stream(b"0 0 1 RG 1 1 118 18 re S", Type=Name.XObject, Subtype=Name.Form,
                           BBox=Array([0, 0, 120, 20]))
    return pdf.make_indirect(Dictionary(
        Type=Name.Annot, Subtype=Name.Widget, FT=Name.Tx, T=String("意见"), V=String("同意"), F=4, P=page,
        Rect=Array([300, 72, 420, 92]), AP=Dictionary(N=look),
        AA=Dictionary(K=Dictionary(S=Name.JavaScript, JS=String("event.rc = true")))))


def test_hostile_pdf_is_defused(tmp_path):
    src = tmp_path / "带脚本.pdf"
    hostile_pdf(src)
    before = _sha256(src)
    assert any("JavaScript" in p for p in check_pdfa(src))
    done = normalise_upload(src, tmp_path / "out.pdf")
    assert _sha256(src) == before
    assert done.removed == [
        "已移除文档级 JavaScript（Names/JavaScript）",
        "已移除 JavaScript 动作（OpenAction）",
        "已移除 JavaScript 动作（第 1 页的附加动作 AA）",
        "已移除 Launch（启动外部程序）动作及其链接注释（第 1 页）",
        "已移除 URI（打开网址）动作及其链接注释（第 1 页）",
        "已移除 JavaScript 动作（第 1 页的注释的附加动作 AA）",
        "已移除 XFA 表单（AcroForm/XFA）",
        "已将表单（1 个字段）的打印外观固化为页面内容，并移除交互式表单（AcroForm）",
        "已移除嵌入文件“payload.exe”（EmbeddedFiles）",
    ]
    assert (done.page_count, done.ocr_pages) == (2, 1)
    assert check_pdfa(done.pdf, expect_part=2) == []
    with pikepdf.open(done.pdf) as pdf:
        assert active_content(pdf) == []
        assert not {"/OpenAction", "/AA", "/AcroForm", "/Names", "/AF"} & set(pdf.Root.keys())
        assert all(not isinstance(p.obj.get("/Annots"), Array) or len(p.obj.Annots) == 0 for p in pdf.pages)
        assert len(pdf.attachments) == 0
    assert "现场复查" in text_of(done.pdf)


# --- DOCX --------------------------------------------------------------------------------------------------

class NotPdfaConverter:
    """Error injection only: a converter whose output is a plain PDF, which real LibreOffice never gives."""

    def __init__(self, result: Path):
        self.result = result

    def convert_to_pdfa(self, src: Path, dest: Path, *, timeout=60, checked=True):
        dest.write_bytes(self.result.read_bytes())


def docx_with_link(path: Path) -> Path:
    """A Word document with an external hyperlink, as uploads often have."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml.ns import qn
    from docx.oxml.parser import OxmlElement

    document = docx.Document()
    paragraph = document.add_paragraph("整改方案：详见门户网站公示 ")
    rid = document.part.relate_to("http://example.invalid/", RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "公示页面"
    run.append(text)
    link.append(run)
    paragraph._p.append(link)
    document.save(path)
    return path


def test_docx_needs_a_converter(tmp_path):
    with pytest.raises(ConversionFailed) as exc:
        normalise_upload(WORD, tmp_path / "out" / "out.pdf")
    assert WORD.name in exc.value.message and "LibreOffice" in exc.value.message
    assert_nothing_at(tmp_path / "out" / "out.pdf")


def test_docx_goes_through_real_libreoffice(tmp_path, converter):
    before = WORD.read_bytes()
    done = normalise_upload(WORD, tmp_path / "out.pdf", converter=converter)
    assert (done.media_type, done.ocr_pages) == (DOCX, None) and done.page_count >= 1
    assert check_pdfa(done.pdf, expect_part=2) == []
    assert "整改" in text_of(done.pdf)
    assert WORD.read_bytes() == before


def test_converted_docx_keeps_no_hyperlinks(tmp_path, converter):
    """A Word hyperlink keeps its text but no link reaches the archive (LibreOffice's PDF/A export drops it;
    the sanitiser would remove and record any URI action that got through, as the hostile-PDF test shows)."""
    upload = docx_with_link(tmp_path / "带链接的整改方案.docx")
    done = normalise_upload(upload, tmp_path / "out.pdf", converter=converter)
    assert check_pdfa(done.pdf, expect_part=2) == []
    with pikepdf.open(done.pdf) as pdf:
        assert active_content(pdf) == []
        assert all("/Annots" not in page.obj for page in pdf.pages)
    assert "公示页面" in text_of(done.pdf)


def test_docx_conversion_time_out_names_the_file(tmp_path, converter):
    with pytest.raises(ConversionFailed) as exc:
        normalise_upload(WORD, tmp_path / "out" / "out.pdf", converter=converter, timeout=0.01)
    assert WORD.name in exc.value.message
    assert_nothing_at(tmp_path / "out" / "out.pdf")


def test_converter_output_that_is_not_pdfa_is_not_archived(tmp_path):
    plain = tmp_path / "plain.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(plain)
    with pytest.raises(ConversionFailed) as exc:
        normalise_upload(WORD, tmp_path / "out" / "out.pdf", converter=NotPdfaConverter(plain))
    assert WORD.name in exc.value.message and "PDF/A-2b" in exc.value.message
    assert_nothing_at(tmp_path / "out" / "out.pdf")


# --- OCRmyPDF wrapper --------------------------------------------------------------------------------------

def test_ocr_time_out_names_the_file_and_leaves_nothing(tmp_path):
    with pytest.raises(ConversionFailed) as exc:
        normalise_upload(SCAN, tmp_path / "out" / "out.pdf", timeout=0.5)
    assert SCAN.name in exc.value.message and "0.5 秒" in exc.value.message
    assert_nothing_at(tmp_path / "out" / "out.pdf")


def test_ocrmypdf_command_line():
    cmd = ocr.ocrmypdf_command(Path("a.png"), Path("b.pdf"), image_dpi=150)
    assert cmd[:3] == [sys.executable, "-m", "ocrmypdf"]
    joined = " ".join(cmd)
    assert "--language chi_sim+eng" in joined and "--skip-text" in joined and "--jobs 1" in joined
    assert "--image-dpi 150" in joined
    assert "--output-type pdf" in joined and "--optimize 0" in joined, "PDF/A and its check are normalisation's"
    assert "--plugin pipeline.external.ocrmypdf_raster" in joined


_PRELOAD_PROBE = """
import importlib, json, sys
from pathlib import Path
from pipeline.external import ocrmypdf as ocr
for name in ocr.PRELOAD:
    importlib.import_module(name)
before = set(sys.modules)
work, src, dest = (Path(a) for a in sys.argv[1:4])
code = ocr._ocrmypdf_main(ocr.ocrmypdf_arguments(src, dest, image_dpi=150), str(work), work / "ocrmypdf.log")
(work / "imported.json").write_text(json.dumps([code, sorted(set(sys.modules) - before)]))
"""


def test_ocr_jobs_find_ocrmypdfs_renderer_and_plugins_preloaded(tmp_path):
    """An OCR job is forked from a server that imported `PRELOAD`: OCRmyPDF must find there what it imports per file
    (its fpdf2 text-layer renderer with fontTools' subsetter, 0.14 s; its plugins; pypdfium2), or every OCRed
    upload pays for the import again."""
    dest = tmp_path / "out.pdf"
    subprocess.run([sys.executable, "-c", _PRELOAD_PROBE, str(tmp_path), str(SCREENSHOT), str(dest)], check=True,
                   cwd=Path(__file__).parents[1], timeout=120)
    code, imported = json.loads((tmp_path / "imported.json").read_text())
    assert code == 0 and "检测线" in text_of(dest), "the probe ran OCRmyPDF through its renderer"
    heavy = [m for m in imported if (m.split(".")[0] in ("fpdf", "fontTools", "pypdfium2", "pikepdf")
                                     and not m.startswith("fontTools.ttLib.tables."))   # one small module a table
             or m.startswith(("ocrmypdf.fpdf_renderer", "ocrmypdf.font", "ocrmypdf.builtin_plugins.tesseract_ocr",
                              "ocrmypdf.builtin_plugins.pypdfium", "ocrmypdf.hocrtransform"))]
    assert heavy == [], f"imported per OCR job, not preloaded: {heavy[:10]}"


_RASTER_PROBE = """
import sys
from pathlib import Path
from pipeline.external import ocrmypdf as ocr
work, src, dest = (Path(a) for a in sys.argv[1:4])
sys.exit(ocr._ocrmypdf_main(["--keep-temporary-files", *ocr.ocrmypdf_arguments(src, dest, image_dpi=150)], str(work),
                            work / "ocrmypdf.log"))
"""


def _zlib_level(png: Path) -> int:
    """FLEVEL of the zlib stream in a PNG's first IDAT chunk: 0 or 1 for zlib levels 1-5, 2 for the default 6."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    while data[pos + 4:pos + 8] != b"IDAT":
        pos += 12 + int.from_bytes(data[pos:pos + 4], "big")
    return data[pos + 9] >> 6


def test_ocr_jobs_rasterize_pages_with_a_fast_png_encode(tmp_path):
    """OCRmyPDF's own pypdfium plugin saves the page image Tesseract reads at zlib level 6 (0.22 s of a scan's
    1.3 s job); `ocrmypdf_raster` must be the rasterizer a job uses, writing level 1 (kept files show it)."""
    work, dest = tmp_path / "work", tmp_path / "out.pdf"
    work.mkdir()
    subprocess.run([sys.executable, "-c", _RASTER_PROBE, str(work), str(SCREENSHOT), str(dest)], check=True,
                   cwd=Path(__file__).parents[1], timeout=120)
    assert "检测线" in text_of(dest)
    [page] = work.glob("*/*_rasterize.png")
    assert _zlib_level(page) < 2, "the page was rasterized by OCRmyPDF's built-in plugin, not ours"
    with Image.open(page) as image, Image.open(SCREENSHOT) as original:
        assert image.size == original.size and round(image.info["dpi"][0]) == 150


@pytest.mark.parametrize(("device", "rotation", "use_cropbox"), [("pnggray", 90, False), ("png16m", 0, True)])
def test_raster_plugin_renders_as_ocrmypdfs_pypdfium_plugin(tmp_path, device, rotation, use_cropbox):
    """The same pixels, size, mode and DPI as the built-in hook, saved faster; Ghostscript, if chosen, is left be."""
    from types import SimpleNamespace

    from ocrmypdf.builtin_plugins import pypdfium
    from ocrmypdf.helpers import Resolution

    from pipeline.external import ocrmypdf_raster

    dpi = Resolution(60, 60)
    kwargs = {"input_file": PLAN, "raster_device": device, "raster_dpi": dpi, "pageno": 1, "page_dpi": dpi,
              "rotation": rotation, "filter_vector": False, "stop_on_soft_error": True,
              "options": SimpleNamespace(rasterizer="auto"), "use_cropbox": use_cropbox}
    ours, theirs = tmp_path / "ours.png", tmp_path / "theirs.png"
    assert ocrmypdf_raster.rasterize_pdf_page(output_file=ours, **kwargs) == ours
    pypdfium.rasterize_pdf_page(output_file=theirs, **kwargs)
    with Image.open(ours) as a, Image.open(theirs) as b:
        assert (a.size, a.mode, a.info["dpi"]) == (b.size, b.mode, b.info["dpi"])
        assert a.tobytes() == b.tobytes()
    assert _zlib_level(ours) < 2 and _zlib_level(theirs) == 2
    kwargs["options"] = SimpleNamespace(rasterizer="ghostscript")
    assert ocrmypdf_raster.rasterize_pdf_page(output_file=tmp_path / "gs.png", **kwargs) is None
    assert not (tmp_path / "gs.png").exists()


_FONT_PROBE = """
import json
import os
from ocrmypdf import font
from pipeline.external.ocrmypdf_fonts import use_glyphless_text_layer
use_glyphless_text_layer()
manager = font.MultiFontManager()
chosen = {w: manager.select_font_for_word(w, "chi_sim").font_path.name for w in ("检测线", "ABC-7K3", "龘", "检测龘")}
print(json.dumps(chosen))
"""


def test_ocr_text_layer_font_is_the_small_glyphless_one_with_occulta_for_rare_characters(tmp_path):
    """The text layer's words go to the glyphless subset of GB 2312 and Latin-1; a word with any other character (龘
    is outside GB 2312) to OCRmyPDF's Occulta, which maps the whole BMP. The subset is made once and kept."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    run = lambda: json.loads(subprocess.run([sys.executable, "-c", _FONT_PROBE], capture_output=True, text=True,
                                            check=True, cwd=Path(__file__).parents[1], env=env).stdout)
    chosen = run()
    assert chosen["检测线"] == chosen["ABC-7K3"] and chosen["检测线"].startswith("glyphless-")
    assert chosen["龘"] == chosen["检测龘"] == "Occulta.ttf"
    made = list((tmp_path / "yuetan").glob("glyphless-*.ttf"))
    assert [p.name for p in made] == [chosen["检测线"]]
    before = made[0].stat().st_mtime_ns
    assert run() == chosen and made[0].stat().st_mtime_ns == before, "made once, then reused"


def test_count_ocr_pages_from_sidecar():
    assert ocr.count_ocr_pages("[OCR skipped on page(s) 1-3]\f第四页\f[OCR skipped on page(s) 5]\f第六页") == 2
    assert ocr.count_ocr_pages("[OCR skipped on page(s) 1]") == 0
    assert ocr.count_ocr_pages("") == 0


def test_ocrmypdf_exit_codes_are_translated():
    with pytest.raises(ExternalProgramError) as missing:
        ocr._translate(3, "MissingDependencyError: tesseract", "扫描.jpg")
    assert "tesseract-ocr-chi-sim" in missing.value.message and "扫描.jpg" in missing.value.message
    with pytest.raises(ExternalProgramError) as absent:
        ocr._translate(1, "No module named ocrmypdf", "扫描.jpg")
    assert "make install" in absent.value.message
    for code in (2, 4, 7, 15, -9):
        with pytest.raises(ConversionFailed) as failed:
            ocr._translate(code, "something broke", "扫描.jpg")
        assert "扫描.jpg" in failed.value.message
    ocr._translate(0, "", "扫描.jpg")


def test_without_a_writable_cache_folder_the_text_layer_falls_back_to_occulta(tmp_path):
    """A user whose cache folder cannot be written still gets OCR: every word in Occulta (only slower), no error."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    env = {**os.environ, "XDG_CACHE_HOME": str(blocked)}
    done = subprocess.run([sys.executable, "-c", _FONT_PROBE], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).parents[1], env=env)
    assert set(json.loads(done.stdout).values()) == {"Occulta.ttf"}
