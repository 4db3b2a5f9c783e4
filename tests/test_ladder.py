"""Issue 18: every upload that can be read is archived by the first ladder rung whose output passes the
full check; only what nothing can read is refused, naming the file. Real OCRmyPDF, Ghostscript, poppler,
LibreOffice and pyHanko throughout; the odd uploads are made here (tests/odd_uploads.py)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest

from archive_store.errors import ConversionFailed, InvalidCase
from pipeline.external.ghostscript import ghostscript_command, pdfa_def
from pipeline.pdf.normalise import normalise_upload
from pipeline.pdf.pdfa import assess_pdfa, check_pdfa
from pipeline.pdf.verify import verify_dossier

from . import odd_uploads as odd
from .conftest import EXAMPLES, load_example

PLAN = EXAMPLES / "institution-onsite" / "整改方案.pdf"

# upload name -> (how it is made, the rung expected to archive it, what the earlier rungs ran into)
ODD_UPLOADS = {
    "现场照片-CMYK.jpg": (odd.cmyk_jpeg, "colour_fixes", "CMYK"),
    "现场照片-YCCK.jpg": (odd.ycck_jpeg, "colour_fixes", "CMYK"),
    "检测报告-JPEG2000.pdf": (odd.jpeg2000_pdf, "colour_fixes", ""),
    "设备图-Type3字体.pdf": (odd.type3_pdf, "rasterised", "Type 3"),
    "统计表-底纹与图案.pdf": (odd.pattern_pdf, "rasterised", "attern"),
    "打印稿-设备色无输出意图.pdf": (odd.device_colour_pdf, "colour_fixes", "DeviceCMYK"),
    "总平面图-大幅黑白.pdf": (odd.large_monochrome_pdf, "rasterised", "退出码 15"),
    "复印件-JBIG2-DeviceN.pdf": (odd.jbig2_devicen_pdf, "colour_fixes", "退出码 15"),
    "整改方案-Latin1文档信息.pdf": (lambda p: odd.latin1_docinfo_pdf(p, PLAN), "ocrmypdf", ""),
}


def text_of(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-f", str(first), "-l", str(last)] if first else []) + [str(pdf), "-"]
    return re.sub(r"\s+", "", subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8"))


def case_with_uploads(folder: Path, uploads: list[Path]) -> Path:
    """institution-onsite with `uploads` as its attachments (evidence), in a new folder."""
    shutil.copytree(EXAMPLES / "institution-onsite", folder)
    case = load_example("institution-onsite")
    for old in case["attachments"]:
        (folder / old["file"]).unlink()
    case["attachments"] = [{"role": "evidence", "file": p.name, "title": f"证据材料：{p.stem}"} for p in uploads]
    for p in uploads:
        if p.parent != folder:
            shutil.copyfile(p, folder / p.name)
    (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def office():
    from pipeline.pdf.pdfa import pdfa_converter

    with pdfa_converter() as converter:
        yield converter


@pytest.fixture(scope="module")
def home(prepare_home, tmp_path_factory):
    from pipeline.records.setup import init_home

    made, _ = init_home(prepare_home(tmp_path_factory.mktemp("ladder-home") / "home"))
    return made


def build(folder: Path, dest: Path, home, office):
    from pipeline.dossier import build_dossier

    return build_dossier(folder, dest, home=home, converter=office, filed_by="测试档案员")


@pytest.fixture(scope="module")
def odd_dossier(tmp_path_factory, home, office):
    """One case carrying every odd upload, built into a sealed dossier once (the ladder is the slow part)."""
    made = tmp_path_factory.mktemp("odd-uploads")
    uploads = [make(made / name) for name, (make, _, _) in ODD_UPLOADS.items()]
    folder = case_with_uploads(tmp_path_factory.mktemp("odd-case") / "case", uploads)
    dest = tmp_path_factory.mktemp("odd-dossier") / "dossier.pdf"
    built = build(folder, dest, home, office)
    with pikepdf.open(dest) as pdf:
        manifest = json.loads(pdf.attachments["manifest.json"].get_file().read_bytes())
        embedded = {n: spec.get_file().read_bytes() for n, spec in pdf.attachments.items()}
    return {"built": built, "dest": dest, "manifest": manifest, "embedded": embedded, "folder": folder}


# --- every odd upload is archived --------------------------------------------------------------------------

def test_dossier_with_every_odd_upload_verifies(odd_dossier):
    report = verify_dossier(odd_dossier["dest"])
    assert report.ok, [c.as_dict() for c in report.checks if not c.ok]
    assert check_pdfa(odd_dossier["dest"], expect_part=3) == []


@pytest.mark.parametrize("name", ODD_UPLOADS)
def test_manifest_names_the_rung_and_why_the_rungs_before_failed(odd_dossier, name):
    _, rung, earlier = ODD_UPLOADS[name]
    entry = next(e for e in odd_dossier["manifest"]["normalisation"] if e["name"] == name)
    assert entry["rung"] == rung and entry["document"].startswith("attachments[")
    attempts = entry["attempts"]
    assert [a["rung"] for a in attempts][-1] == rung and attempts[-1]["outcome"] == "kept"
    for attempt in attempts[:-1]:
        assert attempt["outcome"] in ("violated", "unconfirmed", "failed", "skipped")
        assert attempt["reasons"] and all(re.search(r"[\u4e00-\u9fff]", r) for r in attempt["reasons"])
    assert earlier in json.dumps(attempts[:-1], ensure_ascii=False)
    assert odd_dossier["embedded"][name] == (odd_dossier["folder"] / name).read_bytes(), "original kept byte for byte"


def test_what_the_check_cannot_confirm_goes_down_to_a_rung_it_can(odd_dossier):
    """Type 3 fonts and patterns are allowed in PDF/A-2 but cannot be confirmed: they are not called
    violations, and they end on the rasterised rung, whose output can be confirmed."""
    entries = {e["name"]: e for e in odd_dossier["manifest"]["normalisation"]}
    for name in ("设备图-Type3字体.pdf", "统计表-底纹与图案.pdf"):
        first = entries[name]["attempts"][0]
        assert first["outcome"] == "unconfirmed" and all("无法确认" in r for r in first["reasons"])
    device = entries["打印稿-设备色无输出意图.pdf"]["attempts"][0]
    assert device["outcome"] == "violated"


def test_remarks_sheet_says_which_rung_made_each_upload(odd_dossier):
    dest = odd_dossier["dest"]
    with pikepdf.open(dest) as pdf:
        total = len(pdf.pages)
        pages = {p.objgen: i for i, p in enumerate(pdf.pages)}
        with pdf.open_outline() as outline:
            first = next(pages[item.destination[0].objgen] for item in outline.root if item.title == "备考表") + 1
    remarks = re.sub(r"[-\u2010\u2011]", "", text_of(dest, first, total))   # pdftotext drops some hyphens
    assert "三、上传材料转换情况" in remarks
    assert "第四级" in remarks and "第二级" in remarks and "原件已原样嵌入案卷" in remarks
    assert "“整改方案Latin1文档信息.pdf”经第一级（常规转换）转为PDF/A2b。" in remarks
    for name in ODD_UPLOADS:
        assert f"“{name.replace('-', '')}”经" in remarks
    assert "设备图Type3字体.pdf" in remarks and "无法确认是否符合PDF/A" in remarks
    assert "Traceback" not in remarks and "site-packages" not in remarks


def test_ocr_makes_the_rasterised_and_converted_uploads_searchable(odd_dossier):
    text = text_of(odd_dossier["dest"])
    assert text.count("整改复查记录") >= 3   # the CMYK and YCCK photos and the JPEG 2000 page, OCRed


def test_seconds_per_rung_are_kept_for_the_stage_table(odd_dossier):
    uploads = {u.source.name: u for u in odd_dossier["built"].uploads}
    assert set(uploads) == set(ODD_UPLOADS)
    large = uploads["总平面图-大幅黑白.pdf"]
    assert list(large.rung_seconds) == ["ocrmypdf", "colour_fixes", "ghostscript", "rasterised"]
    assert [a.outcome for a in large.attempts] == ["failed", "skipped", "skipped", "kept"]
    assert "像素上限" in large.attempts[2].reasons[0]
    assert all(seconds >= 0 for seconds in large.rung_seconds.values())
    assert large.rung_seconds["rasterised"] > 0
    assert "seconds" not in json.dumps(odd_dossier["manifest"]), "timings stay out of the (reproducible) manifest"


def test_latin1_docinfo_keys_are_rewritten_not_a_traceback(odd_dossier):
    upload = next(u for u in odd_dossier["built"].uploads if u.source.name == "整改方案-Latin1文档信息.pdf")
    assert any("Latin-1" in note and "Verfasserä" in note for note in upload.repaired)


# --- the rungs one by one ------------------------------------------------------------------------------------

def test_ghostscript_rung_writes_an_output_intent(tmp_path):
    """Measured: with PDFA_def.ps naming the sRGB profile by absolute path and --permit-file-read,
    Debian's gs 10.0.0 writes the OutputIntent; device colour then passes the check."""
    src = odd.device_colour_pdf(tmp_path / "device.pdf")
    definition = tmp_path / "PDFA_def.ps"
    definition.write_text(pdfa_def(), encoding="latin-1")
    out = tmp_path / "gs.pdf"
    subprocess.run(ghostscript_command(src, out, definition), check=True, capture_output=True)
    with pikepdf.open(out) as pdf:
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == pikepdf.Name.GTS_PDFA1 and len(intent.DestOutputProfile.read_bytes()) > 1000
    assert assess_pdfa(out, expect_part=2).ok


@pytest.mark.parametrize("make, bits", [(odd.type3_pdf, 1), (odd.pattern_pdf, 8)])
def test_rasterised_rung_draws_black_and_white_pages_in_one_bit(tmp_path, make, bits):
    import time

    from pipeline.pdf.ladder import RungInput, pdf_rasterised

    src = make(tmp_path / "src.pdf")
    work = tmp_path / "work"
    work.mkdir()
    made = pdf_rasterised(RungInput(src, src.name, work, time.monotonic() + 120, 120))
    with pikepdf.open(made.pdf) as pdf:
        images = [pikepdf.PdfImage(obj) for obj in pdf.objects
                  if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == pikepdf.Name.Image]
        page = pdf.pages[0].mediabox
        assert (float(page[2]), float(page[3])) == pytest.approx(odd.A4, abs=0.5)
    assert [image.bits_per_component for image in images] == [bits]
    assert images[0].width == pytest.approx(odd.A4[0] / 72 * 300, abs=1)   # 300 dpi


def test_ghostscript_command_line_and_prologue():
    cmd = ghostscript_command(Path("a.pdf"), Path("b.pdf"), Path("PDFA_def.ps"))
    joined = " ".join(cmd)
    assert "-dPDFA=2" in joined and "-dSAFER" in joined and "-sColorConversionStrategy=RGB" in joined
    assert "--permit-file-read=/usr/share/color/icc/ghostscript/srgb.icc" in joined
    assert cmd[-2:] == [str(Path("PDFA_def.ps").absolute()), str(Path("a.pdf").absolute())]
    prologue = pdfa_def(Path("/tmp/a (b)/s.icc"), title="x\\y")
    assert "(/tmp/a \\(b\\)/s.icc)" in prologue and "/GTS_PDFA1" in prologue


def test_a_page_poppler_cannot_draw_names_the_file(tmp_path):
    from pipeline.external.poppler import render_page

    src = tmp_path / "坏页面.pdf"
    src.write_bytes(b"%PDF-1.7\nnot really\n")
    with pytest.raises(ConversionFailed) as exc:
        render_page(src, 1, tmp_path / "page", dpi=72)
    assert "坏页面.pdf" in exc.value.message and "第 1 页" in exc.value.message


def test_the_check_tells_violated_from_cannot_confirm(tmp_path):
    type3 = assess_pdfa(odd.type3_pdf(tmp_path / "t3.pdf"), expect_part=2)
    assert any("Type 3" in p for p in type3.unconfirmed)
    assert not any("Type 3" in p for p in type3.violations)
    assert any("OutputIntent" in p for p in type3.violations)   # a plain PDF still violates clauses
    latin1 = assess_pdfa(odd.latin1_docinfo_pdf(tmp_path / "l1.pdf", PLAN), expect_part=2)
    assert isinstance(latin1.violations, list)   # no TypeError from a key that is not UTF-8
    report = verify_dossier(tmp_path / "t3.pdf")   # verify labels the two kinds apart
    pdfa = next(c for c in report.checks if c.name == "pdfa")
    assert not pdfa.ok and "不符合：" in pdfa.message and "无法确认：" in pdfa.message


def test_a_corrupt_image_a_rung_copied_is_caught_and_the_ladder_climbs(tmp_path):
    """A scan whose JPEG data stops early: OCRmyPDF refuses it, Ghostscript copies the damaged JPEG into its output.
    The candidate check (pikepdf's libqpdf, which decodes every stream) finds it, so the page is rasterised; the qpdf
    program of Debian 12 (11.3) did not see that JPEG's damage, and Ghostscript's output used to be kept."""
    done = normalise_upload(odd.truncated_jpeg_pdf(tmp_path / "复印件-图像数据不完整.pdf"), tmp_path / "out.pdf")
    rungs = {a.rung: a for a in done.attempts}
    assert rungs["ghostscript"].outcome == "violated", rungs["ghostscript"]
    assert any("qpdf 检查发现问题" in r and "JPEG data is corrupt" in r for r in rungs["ghostscript"].reasons)
    assert done.rung == "rasterised"
    assert assess_pdfa(done.pdf, expect_part=2, syntax="pikepdf").ok and check_pdfa(done.pdf, expect_part=2) == []
    assert "整改复查记录" in text_of(done.pdf), "what the damaged scan showed is kept, and searchable"


def test_every_rung_has_its_own_time_out(tmp_path):
    # Type 3 text (refused by the first rungs) and a scanned page, so that every rung has OCR to do: a rung that
    # only checks a text layer ends in far less than 0.3 s and would not show its time-out
    src = odd.type3_pdf(tmp_path / "图纸.pdf")
    scan = tmp_path / "scan.pdf"
    odd.scan_image().save(scan, resolution=150)
    with pikepdf.open(src, allow_overwriting_input=True) as pdf, pikepdf.open(scan) as scanned:
        pdf.pages.extend(scanned.pages)
        pdf.save(src)
    with pytest.raises(ConversionFailed) as exc:
        normalise_upload(src, tmp_path / "out" / "out.pdf", timeout=0.3)
    message = exc.value.message
    assert "图纸.pdf" in message and "各级转换均未通过" in message
    for label in ("第一级", "第三级", "第四级"):
        assert label in message
    assert message.count("本级超过 0.3 秒时限") >= 3
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


# --- refused: only what no rung can read ---------------------------------------------------------------------

def refused(src: Path, dest: Path) -> str:
    with pytest.raises(InvalidCase) as exc:
        normalise_upload(src, dest)
    assert [p.path for p in exc.value.problems] == [src.name] and src.name in str(exc.value)
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []
    return exc.value.problems[0].message


def test_refused_not_a_pdf_or_image(tmp_path):
    src = tmp_path / "会议纪要.pdf"
    src.write_bytes(b"PK\x03\x04" + bytes(100))
    assert "内容是无法识别的内容" in refused(src, tmp_path / "out" / "x.pdf")


def test_refused_encrypted(tmp_path):
    src = tmp_path / "加密报告.pdf"
    with pikepdf.open(PLAN) as pdf:
        pdf.save(src, encryption=pikepdf.Encryption(owner="o", user="u"))
    assert "已加密" in refused(src, tmp_path / "out" / "x.pdf")


def test_refused_dynamic_xfa_without_static_pages(tmp_path):
    src = odd.dynamic_xfa_pdf(tmp_path / "申请表-动态XFA.pdf")
    message = refused(src, tmp_path / "out" / "x.pdf")
    assert "动态 XFA" in message and "静态页面" in message and "打印" in message


def test_refused_damaged_beyond_repair(tmp_path):
    src = tmp_path / "半个文件.pdf"
    data = PLAN.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    message = refused(src, tmp_path / "out" / "x.pdf")
    assert "已损坏或不完整，无法修复" in message and str(tmp_path) not in message


# --- fuzz-style: a folder of odd PDFs --------------------------------------------------------------------------

def test_odd_pdfs_are_archived_or_refused_by_name_and_their_dossier_verifies(tmp_path, home, office):
    """Each file is either archived (output passes the check) or refused with a message naming it;
    never another exception. The archived ones then build one dossier that verifies."""
    archived = []
    for src in odd.odd_pdfs(tmp_path / "odd", PLAN):
        try:
            done = normalise_upload(src, tmp_path / "out" / f"{src.stem}.pdf")
        except (InvalidCase, ConversionFailed) as exc:
            assert src.name in str(exc), str(exc)
            continue
        assert assess_pdfa(done.pdf, expect_part=2).ok, src.name
        assert done.rung in ("ocrmypdf", "colour_fixes", "ghostscript", "rasterised")
        archived.append(src)
    assert 6 <= len(archived) < len(list((tmp_path / "odd").iterdir()))
    folder = case_with_uploads(tmp_path / "case", archived)
    dest = tmp_path / "dossier.pdf"
    build(folder, dest, home, office)
    report = verify_dossier(dest)
    assert report.ok, [c.as_dict() for c in report.checks if not c.ok]
