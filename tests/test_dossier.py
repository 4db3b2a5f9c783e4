"""The sealed dossier (issue 5), built from the bundled examples with real LibreOffice, OCRmyPDF and pyHanko."""
from __future__ import annotations

import hashlib
import io
import json
import random
import re
import subprocess
from pathlib import Path

import docx
import pikepdf
import pytest

from pipeline.pdf.manifest import manifest_sha256
from pipeline.pdf.pdfa import active_content, check_pdfa
from pipeline.pdf.seal import verify_seal
from pipeline.pdf.verify import verify_dossier

from .conftest import EXAMPLE_NAMES, EXAMPLES, ROOT, load_example

pytestmark = pytest.mark.slow     # builds and seals dossiers

YUETAN = ROOT / ".venv" / "bin" / "yuetan"
UNNUMBERED = {"案卷封面", "卷内文件目录", "备考表", "备考表（续页）"}


def text_of(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-f", str(first), "-l", str(last)] if first else []) + [str(pdf), "-"]
    return subprocess.run(args, capture_output=True, check=True).stdout.decode("utf-8")


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def outline(pdf: Path) -> list[tuple[str, int]]:
    """(bookmark title, 0-based first page) in dossier order."""
    with pikepdf.open(pdf) as doc:
        pages = {p.objgen: i for i, p in enumerate(doc.pages)}
        with doc.open_outline() as out:
            return [(item.title, pages[item.destination[0].objgen]) for item in out.root]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_builds_into_a_sealed_dossier_that_verifies(example_dossiers, name):
    dossier = example_dossiers[name]
    report = verify_dossier(dossier)
    assert report.ok, [c.message for c in report.checks if not c.ok]
    assert {c.name for c in report.checks} >= {"seal_intact", "seal_covers_whole_file", "manifest_xmp",
                                               "manifest_remarks", "embedded_files", "pdfa"}
    assert "开发测试用印章" in report.signer
    assert check_pdfa(dossier, expect_part=3) == []


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_dossier_holds_the_case_in_archival_order(example_dossiers, name):
    case = load_example(name)
    titles = [title for title, _ in outline(example_dossiers[name])]
    expected_uploads = [a["title"] for a in sorted(
        case["attachments"], key=lambda a: ["rectification_plan", "rectification_report", "followup_record",
                                            "statement", "evidence", "other"].index(a["role"]))]
    # refused-to-sign has six findings: the 备考表 counts them and its 续页 sets them out
    remarks = ["备考表", "备考表（续页）"] if name == "refused-to-sign" else ["备考表"]
    assert titles == ["案卷封面", "卷内文件目录", "约谈通知书", "约谈记录", *expected_uploads, *remarks]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_file_list_page_ranges_are_true_to_the_dossier(example_dossiers, name):
    dossier = example_dossiers[name]
    marks = outline(dossier)
    with pikepdf.open(dossier) as doc:
        total = len(doc.pages)
    starts = [page for _, page in marks] + [total]
    expected, first = [], 1
    for (title, start), end in zip(marks, starts[1:]):
        if title in UNNUMBERED:
            continue
        count = end - start
        expected.append(f"{first}-{first + count - 1}" if count > 1 else f"{first}")
        first += count
    with pikepdf.open(dossier) as doc:
        table = docx.Document(io.BytesIO(doc.attachments["卷内文件目录.docx"].get_file().read_bytes())).tables[0]
    header = [cell.text.strip() for cell in table.rows[0].cells]
    column = header.index("页号")
    assert [row.cells[column].text.strip() for row in table.rows[1:]] == expected
    file_list_page = dict(marks)["卷内文件目录"] + 1
    printed = text_of(dossier, file_list_page, file_list_page).split()
    assert all(pages in printed for pages in expected)


def test_scanned_follow_up_record_is_searchable_in_the_dossier(example_dossiers):
    text = squeezed(text_of(example_dossiers["institution-onsite"]))
    assert "现场复查" in text and "整改到位" in text


def test_notice_number_and_manifest_hash_printed_in_the_dossier(example_dossiers, example_archive):
    dossier = example_dossiers["institution-onsite"]
    text = squeezed(text_of(dossier))
    assert "赣市监检约〔2025〕3号" in text
    with pikepdf.open(dossier) as doc:
        manifest = json.loads(doc.attachments["manifest.json"].get_file().read_bytes())
    assert manifest_sha256(manifest) in text


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_originals_travel_inside_byte_for_byte(example_dossiers, name):
    case = load_example(name)
    with pikepdf.open(example_dossiers[name]) as doc:
        embedded = {n: spec.get_file().read_bytes() for n, spec in doc.attachments.items()}
        relationships = {str(spec.obj.AFRelationship) for spec in doc.attachments.values()}
        af_names = {str(f.UF) for f in doc.Root.AF}
    assert embedded["case.json"] == (EXAMPLES / name / "case.json").read_bytes()
    for attachment in case["attachments"]:
        assert embedded[attachment["file"]] == (EXAMPLES / name / attachment["file"]).read_bytes()
    manifest = json.loads(embedded["manifest.json"])
    for component in manifest["components"]:
        if component["role"] in ("case_json", "upload_original"):
            assert hashlib.sha256(embedded[Path(component["name"]).name]).hexdigest() == component["sha256"]
    assert relationships <= {"/Source", "/Data"} and af_names == set(embedded)


def test_any_single_changed_byte_breaks_the_seal(example_dossiers, tmp_path):
    """250 positions over the whole file, the signature's own /Contents included."""
    original = example_dossiers["bureau-video"].read_bytes()
    target = tmp_path / "tampered.pdf"
    target.write_bytes(original)
    assert verify_seal(target).ok
    contents = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", original)
    rng = random.Random(20251125)
    positions = rng.sample(range(len(original)), 200) + rng.sample(range(contents.start(1), contents.end(1)), 50)
    survived = []
    for pos in positions:
        data = bytearray(original)
        data[pos] = (data[pos] + rng.randint(1, 255)) % 256
        target.write_bytes(data)
        if verify_seal(target).ok:
            survived.append(pos)
    assert survived == []


def test_changed_bytes_fail_the_whole_verify_command(example_dossiers, tmp_path):
    original = example_dossiers["refused-to-sign"].read_bytes()
    rng = random.Random(7)
    for i, pos in enumerate(rng.sample(range(len(original)), 3)):
        data = bytearray(original)
        data[pos] ^= 0x20
        target = tmp_path / f"tampered-{i}.pdf"
        target.write_bytes(data)
        result = subprocess.run([str(YUETAN), "verify", "--json", str(target)], capture_output=True, text=True)
        assert result.returncode == 1, result.stdout
        assert json.loads(result.stdout)["ok"] is False


def test_swapped_embedded_file_fails_verify(example_dossiers, tmp_path):
    target = tmp_path / "swapped.pdf"
    with pikepdf.open(example_dossiers["institution-onsite"]) as doc:
        spec = doc.attachments["整改方案.pdf"]
        doc.attachments["整改方案.pdf"] = pikepdf.AttachedFileSpec(
            doc, (EXAMPLES / "refused-to-sign" / "整改方案-宏达.pdf").read_bytes(), filename="整改方案.pdf",
            mime_type="application/pdf", description=str(spec.description))
        doc.save(target)
    report = verify_dossier(target)
    failed = {c.name for c in report.checks if not c.ok}
    assert not report.ok
    assert "embedded_files" in failed
    assert failed & {"seal", "seal_intact", "seal_covers_whole_file"}


def test_build_and_verify_commands(prepare_home, tmp_path):
    home = prepare_home(tmp_path / "home")
    subprocess.run([str(YUETAN), "--home", str(home), "init"], check=True, capture_output=True)
    dest = tmp_path / "out" / "九江.pdf"
    built = subprocess.run([str(YUETAN), "--home", str(home), "build", str(EXAMPLES / "bureau-video"), "-o",
                            str(dest)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert "赣市监检约〔2025〕1号" in built.stdout      # allocated: the case carries no number
    trusted = subprocess.run([str(YUETAN), "verify", "--json", "--trust",
                              str(home / "seal" / "development-seal.crt"), str(dest)], capture_output=True, text=True)
    assert trusted.returncode == 0 and json.loads(trusted.stdout)["ok"] is True
    assert json.loads(trusted.stdout)["notes"] == ["此案卷用开发测试用印章封存，不是正式印章"]
    plain = json.loads(subprocess.run([str(YUETAN), "verify", "--json", str(dest)], capture_output=True,
                                      text=True).stdout)
    assert plain["ok"] is True and any("未指定 --trust" in n for n in plain["notes"])
    other = tmp_path / "other"
    subprocess.run([str(YUETAN), "--home", str(other), "init"], check=True, capture_output=True)
    untrusted = subprocess.run([str(YUETAN), "verify", "--trust", str(other / "seal" / "development-seal.crt"),
                                str(dest)], capture_output=True, text=True)
    assert untrusted.returncode == 1 and "不是所信任的印章证书" in untrusted.stdout


def test_build_refuses_invalid_case_and_writes_nothing(prepare_home, make_case, tmp_path):
    folder = make_case(change=lambda c: c["target"].update(credit_code="91360100MA35K2Q740"))
    home = prepare_home(tmp_path / "home")
    subprocess.run([str(YUETAN), "--home", str(home), "init"], check=True, capture_output=True)
    dest = tmp_path / "out" / "dossier.pdf"
    result = subprocess.run([str(YUETAN), "--home", str(home), "build", str(folder), "-o", str(dest)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "target.credit_code" in result.stderr and "校验码" in result.stderr
    assert not dest.exists() and not dest.parent.exists()


def test_active_content_removed_from_an_upload_is_recorded_in_manifest_and_remarks(prepare_home, make_case,
                                                                                  tmp_path):
    folder = make_case("refused-to-sign")
    upload = folder / "整改方案-宏达.pdf"
    with pikepdf.open(upload, allow_overwriting_input=True) as pdf:
        pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x')")))
        pdf.save(upload)
    home = prepare_home(tmp_path / "home")
    subprocess.run([str(YUETAN), "--home", str(home), "init"], check=True, capture_output=True)
    dest = tmp_path / "dossier.pdf"
    built = subprocess.run([str(YUETAN), "--home", str(home), "build", str(folder), "-o", str(dest)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert verify_dossier(dest).ok and check_pdfa(dest, expect_part=3) == []
    with pikepdf.open(dest) as doc:
        manifest = json.loads(doc.attachments["manifest.json"].get_file().read_bytes())
        assert active_content(doc) == []
        remarks_first = dict(outline(dest))["备考表"] + 1
        assert doc.attachments["整改方案-宏达.pdf"].get_file().read_bytes() == upload.read_bytes()
    removed = manifest["removed_content"]
    assert len(removed) == 1 and "JavaScript" in removed[0] and removed[0].startswith("赣州宏达机动车检测有限公司整改方案")
    remarks = squeezed(text_of(dest, remarks_first, remarks_first + 1))
    assert "JavaScript" in remarks


def test_the_dossiers_check_finds_damage_with_libqpdf_in_process(example_dossiers, tmp_path, monkeypatch):
    """The dossier's check runs qpdf's syntax checks through pikepdf's libqpdf in its job, not the qpdf program
    (which compresses every decoded image again): a damaged content stream is still found, with qpdf absent."""
    from pipeline.dossier import dossier_problems
    from pipeline.external import qpdf

    monkeypatch.setattr(qpdf, "QPDF", qpdf.Program("qpdf-not-installed", ("qpdf",)))
    dossier = example_dossiers["institution-onsite"]
    assert dossier_problems(dossier) == []
    broken = tmp_path / "内容流损坏.pdf"
    with pikepdf.open(dossier) as pdf:
        pdf.pages[2].Contents = pdf.make_stream(b"q 1 0 0 1 0 0 cm <zz> Tj Q")
        pdf.save(broken)
    problems = dossier_problems(broken)
    assert any(p.startswith("qpdf 检查发现问题") and "hexstring" in p.lower() for p in problems), problems


def _type1_programs(dossier: Path) -> list[bytes]:
    with pikepdf.open(dossier) as pdf:
        return [obj.FontFile.read_bytes() for obj in pdf.objects
                if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor" and "/FontFile" in obj]


def test_type1_widths_remembered_across_subsets_are_the_fonts_own(example_dossiers):
    """The validator remembers a glyph's width by its charstring and subroutines (the dossier's documents carry
    subsets of the same faces): every width it gives is the one fontTools reads from that font, and most glyphs of
    a dossier are found remembered."""
    from pikepdf.pdfa._fontprogram import Type1Program

    from pipeline.pdf import type1

    programs = _type1_programs(example_dossiers["institution-onsite"])
    assert len(programs) >= 10
    type1._widths.clear()
    read_afresh = Type1Program.advance_1000.__wrapped__
    remembered = glyphs = 0
    for data in programs:
        ours, theirs = Type1Program(data), Type1Program(data)
        for gid in range(ours.num_glyphs):
            known = len(type1._widths)
            assert ours.advance_1000(gid) == read_afresh(theirs, gid)
            remembered += len(type1._widths) == known
            glyphs += 1
    assert remembered > glyphs / 3, (remembered, glyphs)


def test_a_wrong_width_is_found_though_the_glyph_was_read_before(example_dossiers, tmp_path):
    from pipeline.dossier import dossier_problems

    dossier = example_dossiers["institution-onsite"]
    assert dossier_problems(dossier) == []                   # every glyph's width now remembered
    wrong = tmp_path / "字宽不符.pdf"
    with pikepdf.open(dossier) as pdf:
        font = next(obj for obj in pdf.objects if isinstance(obj, pikepdf.Dictionary)
                    and obj.get("/Type") == "/Font" and obj.get("/Subtype") == "/Type1" and "/Widths" in obj)
        font.Widths = pikepdf.Array([float(w) + 300 for w in font.Widths])
        pdf.save(wrong)
    problems = dossier_problems(wrong)
    assert any("width" in p.lower() for p in problems), problems


def test_check_jobs_hand_the_widths_they_read_to_the_next(example_dossiers):
    """Each check runs in a job forked afresh; the Type 1 widths it read come back and go to the next job, which
    then reads none of a dossier's glyphs again."""
    from pipeline.dossier import check_dossier_in_job, dossier_problems
    from pipeline.external import process
    from pipeline.pdf import type1

    dossier = example_dossiers["institution-onsite"]
    type1._widths.clear()
    check_dossier_in_job(dossier, "SHP-2025-TEST")
    assert len(type1.shared_widths()) > 300
    problems, read = process.run_job(type1.with_shared_widths, dossier_problems, type1.shared_widths(), dossier,
                                     what="检查", timeout=120)
    assert problems == [] and read == {}
