"""Archival arrangement (issue 15): 档号 at ingest, the 归档章 on each document, the year's catalogue, the handover.

Real components throughout: the example archive is built by the real ingest (LibreOffice, OCRmyPDF, pyHanko);
stamps are read back with pdftotext, the catalogue with openpyxl, the handover checked by `yuetan handover
--verify` as a receiving archive would.
"""
from __future__ import annotations

import json
import multiprocessing
import re
import subprocess
import zipfile
from pathlib import Path

import pikepdf
import pytest
from openpyxl import load_workbook

from archive_store.arrangement import archival_code_for, registered_codes
from archive_store.catalog import Catalog
from archive_store.errors import ConfigurationError
from archive_store.home import ArrangementSettings, load_settings
from pipeline.pdf.pdfa import check_pdfa
from pipeline.pdf.verify import verify_dossier
from tests.conftest import EXAMPLE_NAMES

ROOT = Path(__file__).resolve().parents[1]
YUETAN = ROOT / ".venv/bin/yuetan"
MM = 72 / 25.4
CODES = {"institution-onsite": "J036-WS·2025-D6-JCK-0001", "bureau-video": "J036-WS·2025-D6-JCK-0002",
         "refused-to-sign": "J036-WS·2025-D6-JCK-0003"}
SHEETS = {"案卷封面", "卷内文件目录", "备考表", "备考表（续页）"}


def yuetan(*args, home: Path | None = None) -> subprocess.CompletedProcess:
    prefix = [str(YUETAN)] + (["--home", str(home)] if home else [])
    return subprocess.run(prefix + [str(a) for a in args], capture_output=True, text=True)


def outline(pdf: Path) -> list[tuple[str, int]]:
    with pikepdf.open(pdf) as doc:
        pages = {p.objgen: i for i, p in enumerate(doc.pages)}
        with doc.open_outline() as out:
            return [(item.title, pages[item.destination[0].objgen]) for item in out.root]


def words(pdf: Path, page: int) -> list[tuple[float, float, float, float, str]]:
    """(x0, y0, x1, y1, word) of page `page` (1-based), y from the top, as pdftotext -bbox gives them."""
    xml = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', xml)]


def page_size(pdf: Path, index: int) -> tuple[float, float]:
    with pikepdf.open(pdf) as doc:
        box = [float(v) for v in doc.pages[index].mediabox]
    return box[2] - box[0], box[3] - box[1]


# --- 档号 -------------------------------------------------------------------------------------------------

def test_examples_get_consecutive_codes_in_catalog_show_and_search(example_archive):
    with example_archive.catalog() as catalog:
        given = {r.case_id: r.archival_code for r in catalog.all_cases(status="current")}
        register = registered_codes(catalog, year=2025)
    assert sorted(given.values()) == sorted(CODES.values())
    assert [c.seq for c in register] == [1, 2, 3] and {c.series for c in register} == {"J036-WS·2025-D6-JCK-#"}
    shown = yuetan("show", CODES["bureau-video"], "--json", home=example_archive.path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["record"]["archival_code"] == CODES["bureau-video"]
    assert json.loads(shown.stdout)["record"]["case_id"] == "JX-RZ-2025-021"
    found = yuetan("search", CODES["refused-to-sign"], "--json", home=example_archive.path)
    hits = json.loads(found.stdout)["hits"]
    assert hits[0]["case_id"] == "GZ-RZ-2025-004" and hits[0]["archival_code"] == CODES["refused-to-sign"]


def _allocate(target, worker: int, count: int, queue) -> None:
    settings = ArrangementSettings()
    with Catalog(target) as catalog:
        queue.put([archival_code_for(catalog, f"W{worker}-{i}", year=2025, settings=settings).code
                   for i in range(count)])


@pytest.mark.catalog        # on PostgreSQL too: nodes on several machines, serialised by the series' advisory lock
def test_codes_are_consecutive_and_never_shared_under_concurrent_ingest(catalog_target):
    """Four processes taking 25 codes each from one catalog, as concurrent ingests do (`-j`, several commands,
    several nodes)."""
    db_path = catalog_target
    Catalog(db_path).close()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_allocate, args=(db_path, w, 25, queue)) for w in range(4)]
    for p in workers:
        p.start()
    codes = [c for _ in workers for c in queue.get(timeout=120)]
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(set(codes)) == 100
    assert sorted(int(c.rsplit("-", 1)[1]) for c in codes) == list(range(1, 101))
    assert all(len(c.rsplit("-", 1)[1]) == 4 for c in codes)
    with Catalog(db_path) as catalog:     # a case asking again gets its own code back
        again = archival_code_for(catalog, "W2-7", year=2025, settings=ArrangementSettings())
        assert again.code in codes and len(registered_codes(catalog)) == 100


@pytest.mark.catalog
def test_groups_number_on_their_own(catalog_target):
    settings = ArrangementSettings(unit="卷", number_digits=3)
    with Catalog(catalog_target) as catalog:
        first = archival_code_for(catalog, "A", year=2025, settings=settings)
        other_year = archival_code_for(catalog, "B", year=2026, settings=settings)
        second = archival_code_for(catalog, "C", year=2025, settings=settings)
    assert (first.code, other_year.code, second.code) == (
        "J036-WS·2025-D6-JCK-001", "J036-WS·2026-D6-JCK-001", "J036-WS·2025-D6-JCK-002")


@pytest.mark.parametrize("section, message", [
    ('pattern = "{fonds}-{year}"', "必须含 {number}"),
    ('pattern = "{fonds}-{year}-{box}-{number}"', "未知的部分 {box}"),
    ('retention_code = "D-6"', "应为字母与数字"),
    ('unit = "盒"', "应为“件”或“卷”"),
    ('stamp_position = "bottom"', "应为 top-right"),
    ('organization_code = ""', "organization_code 为空"),
    ('number_digits = 0', "1 到 8 之间的整数"),
    ('fonds_name = "江西省\\u202e局理管督监场市"', "U+202E"),         # printed on covers: plain text only
    ('fonds_name = "江西省\\u0000市场监督管理局"', "U+0000"),
])
def test_bad_arrangement_settings_are_refused_by_key(tmp_path, section, message):
    settings = tmp_path / "yuetan.toml"
    settings.write_text(f"[arrangement]\n{section}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        load_settings(settings)
    assert "arrangement." in refused.value.message and message in refused.value.message


def test_retention_code_follows_the_retention_years_unless_set(tmp_path):
    settings = tmp_path / "yuetan.toml"
    settings.write_text("[retention]\nyears = 10\n", encoding="utf-8")
    assert load_settings(settings).arrangement.retention_code == "D10"
    settings.write_text('[retention]\nyears = 6\n[arrangement]\nretention_code = "D10"\n', encoding="utf-8")
    assert load_settings(settings).arrangement.retention_code == "D10"     # filed under a standard period


def test_settings_choose_the_code(tmp_path):
    settings = tmp_path / "yuetan.toml"
    settings.write_text('[retention]\nyears = 10\n[arrangement]\nfonds_code = "X001"\nretention_code = "D10"\n'
                        'organization_code = ""\npattern = "{fonds}-{category}·{year}-{retention}-{number}"\n'
                        'number_digits = 3\nunit = "卷"\n', encoding="utf-8")
    arrangement = load_settings(settings).arrangement
    assert arrangement.code(2024, 12) == "X001-WS·2024-D10-012" and arrangement.number_label == "卷号"


def test_a_superseding_version_keeps_the_code(archive_copy, make_case):
    folder = make_case("bureau-video")
    data = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    data["interview"]["proceedings"]["statement"] += "（更正）"
    (folder / "case.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    done = yuetan("ingest", "--supersede", "--json", folder, home=archive_copy.path)
    row = json.loads(done.stdout.splitlines()[-1])
    assert row["status"] == "superseded", row
    assert row["archival_code"] == CODES["bureau-video"] and row["version"] == 2
    with archive_copy.catalog() as catalog:
        assert [v.archival_code for v in catalog.versions("JX-RZ-2025-021")] == [CODES["bureau-video"]] * 2
        assert len(registered_codes(catalog)) == 3


# --- 归档章 -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_document_carries_the_stamp_top_right_on_its_first_page(example_dossiers, name):
    dossier = example_dossiers[name]
    number = CODES[name].rsplit("-", 1)[1]
    marks = outline(dossier)
    with pikepdf.open(dossier) as doc:
        total = len(doc.pages)
    ends = [start for _, start in marks[1:]] + [total]
    documents = [(title, start, end) for (title, start), end in zip(marks, ends) if title not in SHEETS]
    assert len(documents) >= 3
    for title, start, end in documents:
        width, height = page_size(dossier, start)
        found = words(dossier, start + 1)
        stamp = [w for w in found if w[4] in {"J036", "2025", number, "JCK", "D6", str(end - start)}
                 and w[1] < 40 * MM]
        texts = [w[4] for w in stamp]
        for value in ("J036", "2025", number, "JCK", "D6", str(end - start)):
            assert value in texts, (title, value, texts)
        # the blank top: right half of the page, top 40 mm; the table is 45 mm x 16 mm
        if title in ("约谈通知书", "约谈记录"):
            assert all(w[0] > width / 2 and w[2] < width - 20 * MM for w in stamp), (title, stamp)
        xs = [w[0] for w in stamp] + [w[2] for w in stamp]
        ys = [w[1] for w in stamp] + [w[3] for w in stamp]
        assert max(xs) - min(xs) <= 45 * MM and max(ys) - min(ys) <= 16 * MM, (title, stamp)
        if end - start > 1:     # only the first page is stamped
            assert not any(w[4] == "J036" and w[1] < 40 * MM for w in words(dossier, start + 2)), title


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_stamped_dossier_still_verifies_and_is_pdfa(example_dossiers, name):
    report = verify_dossier(example_dossiers[name])
    assert report.ok, [c.as_dict() for c in report.checks if not c.ok]
    assert check_pdfa(example_dossiers[name], expect_part=3) == []


def test_the_stamp_is_red_vector_text_in_an_embedded_font(example_dossiers):
    dossier = example_dossiers["institution-onsite"]
    notice = dict(outline(dossier))["约谈通知书"]
    with pikepdf.open(dossier) as doc:
        page = doc.pages[notice]
        forms = [x for x in page.Resources.XObject.values() if x.get("/Subtype") == "/Form"]
        assert forms, "the stamp is a Form XObject on the page"
        stamp = forms[-1]
        content = stamp.read_bytes()
        assert b"Tj" in content or b"TJ" in content
        assert re.search(rb"0\.75\d* 0 0 (rg|RG)", content), "red (C00000) frame and text"
        fonts = list(stamp.Resources.Font.values())
        assert fonts and all("/FontFile3" in f.DescendantFonts[0].FontDescriptor or
                             "/FontFile2" in f.DescendantFonts[0].FontDescriptor for f in fonts
                             if "/DescendantFonts" in f)


def test_remarks_sheet_is_one_page_with_signatures_at_its_foot(example_dossiers):
    for name in EXAMPLE_NAMES:
        dossier = example_dossiers[name]
        marks = outline(dossier)
        titles = [t for t, _ in marks]
        start = dict(marks)["备考表"]
        following = [p for t, p in marks if p > start]
        with pikepdf.open(dossier) as doc:
            end = following[0] if following else len(doc.pages)
        assert end - start == 1, name
        found = words(dossier, start + 1)
        width, height = page_size(dossier, start)
        foot = [w for w in found if w[4].startswith(("立卷人", "检查人", "立卷日期"))]
        assert len(foot) == 3 and all(w[1] > height - 62 * MM for w in foot), (name, foot)
        text = " ".join(w[4] for w in found)
        assert CODES[name] in text
        if name == "refused-to-sign":     # six findings: counted here, set out on the 续页
            assert titles[-1] == "备考表（续页）" and "逐项见备考表（续页）" in text
            continued = " ".join(w[4] for w in words(dossier, start + 2))
            assert "第十三条" in continued and "第十五条" in continued


# --- the catalogue and the handover ----------------------------------------------------------------------------

def test_catalogue_xlsx_reads_back_in_the_standards_column_order(example_archive, tmp_path):
    dest = tmp_path / "2025年度目录.xlsx"
    done = yuetan("catalogue", "--year", 2025, "-o", dest, "--json", home=example_archive.path)
    assert done.returncode == 0, done.stderr
    book = load_workbook(dest)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[0][0] == "约谈档案归档文件目录"
    assert "全宗号：J036" in rows[1][0] and "年度：2025" in rows[1][0]
    assert rows[2] == ["序号", "档号", "文号", "责任者", "题名", "起止日期", "页数", "保管期限", "备注"]
    body = rows[3:]
    assert [r[1] for r in body] == sorted(CODES.values())
    first = body[0]
    assert first[:5] == [1, CODES["institution-onsite"], "赣市监检约〔2025〕3号", "江西省市场监督管理局",
                         "江西赣信检测技术有限公司约谈案卷"]
    assert first[5] == "20250707-20250901" and first[7] == "6年"
    with example_archive.catalog() as catalog:
        assert first[6] == catalog.current("JX-RZ-2025-017").page_count
    assert book.active.page_setup.orientation == "landscape"
    assert json.loads(done.stdout)["rows"][2]["archival_code"] == CODES["refused-to-sign"]


def test_catalogue_pdf_is_a4_landscape_pdfa(example_archive, tmp_path):
    dest = tmp_path / "目录.pdf"
    done = yuetan("catalogue", "--year", 2025, "-o", dest, home=example_archive.path)
    assert done.returncode == 0, done.stderr
    width, height = page_size(dest, 0)
    assert (round(width / MM), round(height / MM)) == (297, 210)
    assert check_pdfa(dest, expect_part=2) == []
    text = " ".join(w[4] for w in words(dest, 1))
    for code in CODES.values():
        assert code in text
    assert yuetan("catalogue", "--year", 2025, "-o", tmp_path / "x.txt", home=example_archive.path).returncode == 2


def test_catalogue_explains_a_reserved_number_and_keeps_purged_rows(archive_copy, tmp_path):
    with archive_copy.catalog() as catalog:
        archival_code_for(catalog, "NEVER-STORED", year=2025, settings=archive_copy.settings.arrangement)
    dest = tmp_path / "目录.xlsx"
    assert yuetan("catalogue", "--year", 2025, "-o", dest, home=archive_copy.path).returncode == 0
    body = [list(r) for r in load_workbook(dest).active.iter_rows(min_row=4, values_only=True)]
    assert body[-1][1] == "J036-WS·2025-D6-JCK-0004" and "未入库" in body[-1][8]


def test_handover_writes_a_bag_the_receiver_verifies(archive_copy, tmp_path):
    out = tmp_path / "2025年度移交"
    done = yuetan("handover", "--year", 2025, "-o", out, "--receiver", "江西省档案馆", "--json",
                  home=archive_copy.path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["archival_codes"] == sorted(CODES.values())
    assert sorted(p.name for p in out.iterdir()) == sorted(["J036-2025-档案移交.zip", "移交清单.pdf",
                                                             "案卷目录.xlsx", "案卷目录.pdf"])
    with zipfile.ZipFile(out / "J036-2025-档案移交.zip") as bag:
        names = set(bag.namelist())
    for code in CODES.values():
        assert f"J036-2025-档案移交/data/{code}/dossier.pdf" in names
    for name in ("案卷目录.xlsx", "案卷目录.pdf", "移交清单.pdf", "ledger.jsonl", "ledger-chain.txt"):
        assert f"J036-2025-档案移交/data/{name}" in names
    assert "J036-2025-档案移交/tagmanifest-sha256.txt.p7s" in names      # signed by the archive's seal (issue 17)
    form = "".join(w[4] for w in words(out / "移交清单.pdf", 1))
    assert "3卷" in form and "江西省档案馆" in form and "移交单位" in form and "接收单位" in form
    with archive_copy.catalog() as catalog:
        assert catalog.current("JX-RZ-2025-017").dossier_sha256 in "".join(
            w[4] for p in (1, 2) for w in words(out / "移交清单.pdf", p))
    assert check_pdfa(out / "移交清单.pdf", expect_part=2) == []
    ledger = json.loads(yuetan("ledger", "list", "--json", home=archive_copy.path).stdout.splitlines()[-1])
    assert ledger["action"] == "handover" and ledger["details"]["zip_sha256"] == result["zip_sha256"]
    # the receiving side, without the archive
    received = yuetan("handover", "--verify", out, "--json")
    assert received.returncode == 0, received.stdout
    answer = json.loads(received.stdout)
    assert {k: answer[k] for k in ("valid", "cases", "problems", "path")} == {
        "valid": True, "cases": 3, "problems": [], "path": str(out / "J036-2025-档案移交.zip")}
    assert answer["signer"] and any("--trust" in n for n in answer["notes"])   # intact, signer not yet trusted
    trusted = yuetan("handover", "--verify", out, "--trust", archive_copy.path / "seal" / "development-seal.crt")
    assert trusted.returncode == 0 and "电子签名有效" in trusted.stdout and "--trust" not in trusted.stdout
    # nothing is written over
    again = yuetan("handover", "--year", 2025, "-o", out, home=archive_copy.path)
    assert again.returncode == 2 and "不为空" in again.stderr


def test_handover_verify_names_a_changed_dossier(archive_copy, tmp_path):
    out = tmp_path / "移交"
    assert yuetan("handover", "--year", 2025, "-o", out, home=archive_copy.path).returncode == 0
    bag = out / "J036-2025-档案移交.zip"
    forged = tmp_path / "forged" / bag.name
    forged.parent.mkdir()
    target = f"J036-2025-档案移交/data/{CODES['bureau-video']}/dossier.pdf"
    with zipfile.ZipFile(bag) as src, zipfile.ZipFile(forged, "w", compression=zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == target:
                data = data.replace(b"/Producer", b"/Producex", 1)
            dst.writestr(item, data)
    checked = yuetan("handover", "--verify", forged)
    assert checked.returncode == 1
    assert CODES["bureau-video"] in checked.stdout and "dossier.pdf" in checked.stdout


def test_handover_of_a_year_without_cases_is_refused(example_archive, tmp_path):
    done = yuetan("handover", "--year", 2019, "-o", tmp_path / "x", home=example_archive.path)
    assert done.returncode == 2 and "2019 年度没有在库的案件" in done.stderr
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x.*"))


def test_demo_settings_file_documents_the_arrangement_section(tmp_path):
    assert yuetan("init", home=tmp_path / "h").returncode == 0
    text = (tmp_path / "h" / "yuetan.toml").read_text(encoding="utf-8")
    assert "[arrangement]" in text and "D6" in text and "stamp_position" in text
    assert load_settings(tmp_path / "h" / "yuetan.toml").arrangement == ArrangementSettings()


# --- placing the stamp on pages of other kinds ----------------------------------------------------------------

@pytest.fixture(scope="module")
def stamp_pdf(tmp_path_factory) -> Path:
    from pipeline.documents import render
    from pipeline.pdf.pdfa import pdfa_converter

    work = tmp_path_factory.mktemp("stamp")
    docx = render.render_stamps([render.ArchiveStamp("J036", "2025", "0009", "JCK", "D6", "2")], work,
                                fonts=render.DocumentFonts("Noto Serif CJK SC", "Noto Serif CJK SC",
                                                           "Noto Sans CJK SC"))
    with pdfa_converter() as converter:
        converter.convert_to_pdfa(docx, work / "stamp.pdf")
    return work / "stamp.pdf"


def page_with_ink(path: Path, boxes: list[tuple[float, float, float, float]], *, rotate: int = 0) -> Path:
    """An A4 page with black boxes (in mm from the top-left of the page as shown) and nothing else."""
    width, height = 210 * MM, 297 * MM
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(width, height))
        ops = b"".join(f"0 g {x0 * MM:.2f} {height - y1 * MM:.2f} {(x1 - x0) * MM:.2f} {(y1 - y0) * MM:.2f} re f\n"
                       .encode() for x0, y0, x1, y1 in boxes)
        pdf.pages[0].Contents = pdf.make_stream(ops)
        if rotate:
            pdf.pages[0].Rotate = rotate
        pdf.save(path)
    return path


@pytest.mark.slow
def test_stamp_moves_along_the_top_to_a_blank_place(stamp_pdf, tmp_path):
    from pipeline.pdf.stamp import stamp_first_page

    letterhead = page_with_ink(tmp_path / "letterhead.pdf", [(135, 5, 200, 30)])    # ink top-right
    placed = stamp_first_page(letterhead, stamp_pdf, 0, tmp_path / "out.pdf")
    assert placed.position == "top-centre" and placed.on_blank
    xs = [w[0] for w in words(tmp_path / "out.pdf", 1) if w[4] in ("J036", "0009")]
    assert xs and all(70 * MM < x < 140 * MM for x in xs)
    titled = page_with_ink(tmp_path / "titled.pdf", [(60, 24, 200, 34)])             # a title 24 mm down
    placed = stamp_first_page(titled, stamp_pdf, 0, tmp_path / "out1.pdf")
    assert placed.position == "top-right" and placed.on_blank
    top = min(w[1] for w in words(tmp_path / "out1.pdf", 1) if w[4] == "J036")
    assert 5 * MM < top < 10 * MM, "moved up to 5 mm below the top, still top-right"
    full = page_with_ink(tmp_path / "scan.pdf", [(0, 0, 210, 60)])                   # a dark scan
    placed = stamp_first_page(full, stamp_pdf, 0, tmp_path / "out2.pdf")
    assert placed.position == "top-right" and not placed.on_blank


@pytest.mark.slow
def test_stamp_on_a_rotated_page_stands_upright_top_right_as_shown(stamp_pdf, tmp_path):
    from pipeline.pdf.stamp import stamp_first_page

    rotated = page_with_ink(tmp_path / "rotated.pdf", [], rotate=90)
    stamp_first_page(rotated, stamp_pdf, 0, tmp_path / "out.pdf")
    found = {w[4]: w for w in words(tmp_path / "out.pdf", 1)}
    shown_width = 297 * MM
    x0, y0, x1, y1, _ = found["J036"]
    assert x1 - x0 > y1 - y0, "the text runs left to right as the page is shown"
    assert x0 > shown_width / 2 and y0 < 30 * MM


def test_a_handover_rebagged_after_a_change_fails_its_signature(archive_copy, tmp_path):
    """Issue 17: a bag whose catalogue was changed and whose manifests were recomputed no longer carries the
    archive's signature; a handover signed by another seal is not trusted."""
    import bagit

    from pipeline.records.export import _quiet_bagit, _zip_folder

    out = tmp_path / "移交"
    assert yuetan("handover", "--year", 2025, "-o", out, home=archive_copy.path).returncode == 0
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(out / "J036-2025-档案移交.zip") as bag:
        bag.extractall(unpacked)
    folder = unpacked / "J036-2025-档案移交"
    summary = folder / "data" / "summary.csv"
    summary.write_text(summary.read_text(encoding="utf-8-sig") + "伪造,一行\r\n", encoding="utf-8-sig")
    with _quiet_bagit():
        bagit.Bag(str(folder)).save(manifests=True)
    forged = tmp_path / "forged.zip"
    _zip_folder(folder, forged)
    checked = yuetan("handover", "--verify", forged, "--json")
    assert checked.returncode == 1
    assert any("电子签名核验失败" in p for p in json.loads(checked.stdout)["problems"]), checked.stdout
    foreign = yuetan("init", home=tmp_path / "other")
    assert foreign.returncode == 0
    stranger = yuetan("handover", "--verify", out, "--trust", tmp_path / "other" / "seal" / "development-seal.crt")
    assert stranger.returncode == 1 and "电子签名核验失败" in stranger.stdout


def test_handover_outputs_and_receiver_are_guarded(archive_copy, tmp_path):
    inside = yuetan("handover", "--year", 2025, "-o", archive_copy.path / "移交", home=archive_copy.path)
    assert inside.returncode == 2 and "位于档案库" in inside.stderr
    assert not (archive_copy.path / "移交").exists()
    catalogue = yuetan("catalogue", "--year", 2025, "-o", archive_copy.path / "index" / "目录.xlsx",
                       home=archive_copy.path)
    assert catalogue.returncode == 2 and "位于档案库" in catalogue.stderr
    forged = yuetan("handover", "--year", 2025, "-o", tmp_path / "x", "--receiver", "江西省\u202e馆案档",
                    home=archive_copy.path)
    assert forged.returncode == 2 and "含有不允许的字符" in forged.stderr and not (tmp_path / "x").exists()


def test_first_pages_drawn_in_one_pdftoppm_are_drawn_as_each_alone(tmp_path):
    """The 归档章's blank-top probe draws every document's first page in one pdftoppm run (their first pages copied
    into one file): each image is byte for byte what pdftoppm draws from that document alone, a turned page too."""
    from pipeline.external.poppler import _parse_pgm
    from pipeline.pdf.stamp import probe_first_pages

    from .conftest import EXAMPLES

    documents = sorted(EXAMPLES.glob("*/*.pdf"))
    turned = tmp_path / "横放.pdf"
    with pikepdf.open(documents[0]) as pdf:
        pdf.pages[0].rotate(90, relative=True)
        pdf.save(turned)
    documents.append(turned)
    work = tmp_path / "work"
    work.mkdir()
    together = probe_first_pages(documents, work)
    alone = [_parse_pgm(subprocess.run(["pdftoppm", "-gray", "-r", "36", "-f", "1", "-l", "1", "-singlefile", str(d)],
                                       capture_output=True, check=True).stdout)[:3] for d in documents]
    assert together == alone
    assert together[-1][0] > together[-1][1] and together[0][0] < together[0][1]
    assert list(work.iterdir()) == [], "the joined file is removed"
