"""Issue 16: a normalised upload is reused (by the sha256 of the original and the normaliser's version) when a case
is ingested again or superseded, a changed upload is normalised afresh, and a purge leaves nothing of its uploads in
the cache. Real archive homes (copies of the example archive), LibreOffice, OCRmyPDF."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pikepdf
import pytest

from archive_store.clock import STAGES, stage_table
from archive_store.durable import sha256_file
from archive_store.errors import ConversionFailed
from pipeline.dossier import build_dossier
from pipeline.pdf.upload_cache import upload_cache
from pipeline.records.ingest import ingest_case, ingest_cases
from pipeline.records.retention import execute_plan, plan_destruction, purge_leftovers

from . import odd_uploads as odd
from .conftest import EXAMPLES, load_example, person

ONSITE = "institution-onsite"
CASE_ID = load_example(ONSITE)["case_id"]
SCAN = "现场复查记录.jpg"


def upload_pdfs(home, case_id: str, version: int) -> dict[str, str]:
    """{original file name: sha256 of the PDF/A it was normalised into} of one stored version."""
    with home.catalog() as catalog:
        rows = catalog.documents(case_id, version)
    originals = {r.document: r.name for r in rows if r.role == "upload_original"}
    return {originals[r.document]: r.sha256 for r in rows if r.role == "upload_pdf"}


def new_version(home, folder, converter, cache):
    result = ingest_case(folder, home=home, actor=person("档案员甲"), converter=lambda: converter, supersede=True,
                         uploads_cache=cache)
    assert not result.failed and result.version is not None, result.message
    return result


def test_a_reingested_upload_is_served_from_the_cache_and_a_changed_one_is_not(archive_copy, converter, make_case):
    home = archive_copy
    first = upload_pdfs(home, CASE_ID, 1)
    assert set(first) == {"整改方案.pdf", "整改报告.pdf", SCAN}

    # a corrected case.json, the same uploads: nothing is normalised again, the stored PDFs are the same bytes
    corrected = make_case(ONSITE, lambda c: c["organizer"]["contact"].update(phone="0791-86358121"))
    cache = upload_cache(home)
    result = new_version(home, corrected, converter, cache)
    assert (cache.hits, cache.misses) == (3, 0)
    assert result.version == 2 and upload_pdfs(home, CASE_ID, 2) == first
    assert set(result.stages) >= set(STAGES) - {"normalise"} | {"wall"}, "the stage table explains every second"

    # the scan is retaken (other bytes): it alone is normalised, by OCR, and the other two still come from the cache
    retaken = make_case(ONSITE, lambda c: c["organizer"]["contact"].update(phone="0791-86358122"))
    odd.scan_image(text="整改复查记录 重新拍摄").save(retaken / SCAN, quality=90, dpi=(150, 150))
    cache = upload_cache(home)
    result = new_version(home, retaken, converter, cache)
    assert (cache.hits, cache.misses) == (2, 1) and result.stages["normalise"] > 0
    third = upload_pdfs(home, CASE_ID, 3)
    assert third["整改方案.pdf"] == first["整改方案.pdf"] and third["整改报告.pdf"] == first["整改报告.pdf"]
    assert third[SCAN] != first[SCAN]
    assert cache.holds(sha256_file(retaken / SCAN)), "what was normalised now is kept for the next time"


def test_a_refused_case_leaves_nothing_in_the_cache(new_home, make_case, tmp_path):
    home = new_home(tmp_path / "home")
    folder = make_case(ONSITE)
    report = folder / "整改报告.pdf"
    report.write_bytes(report.read_bytes()[: report.stat().st_size // 2])     # the two others normalise fine
    [result] = ingest_cases([folder], home=home, actor=person("档案员甲"))
    assert result.status == "refused" and "整改报告.pdf" in result.message, (result.status, result.message)
    cache = home.path / "cache" / "normalised"
    assert not cache.exists() or [p for p in cache.rglob("*") if p.is_file()] == []
    assert not any(upload_cache(home).holds(sha256_file(folder / name)) for name in ("整改方案.pdf", SCAN))


def test_purge_removes_the_cache_entries_of_destroyed_uploads(archive_copy, tmp_path):
    home = archive_copy
    cache = upload_cache(home)
    with home.catalog() as catalog:
        originals = {r.sha256 for c in catalog.all_cases() for r in catalog.documents(c.case_id, c.version)
                     if r.role == "upload_original"}
    assert originals and all(cache.holds(sha) for sha in originals), "ingesting the examples filled the cache"
    far = date(2100, 1, 1)
    plan = plan_destruction(home, tmp_path / "plan", actor=person("档案员甲"), as_of=far)
    assert len(plan["cases"]) == 3
    execute_plan(home, tmp_path / "plan" / "plan.json", approved_by="王局长", actor=person("档案员甲"), today=far)
    assert not any(cache.holds(sha) for sha in originals)
    left = [p for p in (home.path / "cache" / "normalised").rglob("*") if p.is_file()]
    assert left == [], "no name or PDF of a destroyed upload stays in the cache"
    assert purge_leftovers(home) == []


def test_purge_leftovers_names_a_cache_entry_an_interrupted_purge_left(archive_copy, tmp_path):
    home = archive_copy
    cache = upload_cache(home)
    far = date(2100, 1, 1)
    plan_destruction(home, tmp_path / "plan", actor=person("档案员甲"), as_of=far)
    kept = {p.parent.parent.name: p.read_bytes() for p in (home.path / "cache" / "normalised").rglob("entry.json")}
    execute_plan(home, tmp_path / "plan" / "plan.json", approved_by="王局长", actor=person("档案员甲"), today=far)
    sha, entry = next(iter(kept.items()))
    put_back = home.path / "cache" / "normalised" / sha / "k" / "entry.json"   # as if the purge stopped before it
    put_back.parent.mkdir(parents=True)
    put_back.write_bytes(entry)
    assert cache.holds(sha)
    problems = purge_leftovers(home)
    assert len(problems) == 1 and sha in problems[0] and "规范化缓存" in problems[0]


# --- check once, where it counts ---------------------------------------------------------------------------------

class PlainNotice:
    """Error injection only: the converter hands back the notice as a plain PDF with a font it does not embed (real
    LibreOffice never does), which the converter no longer checks for a document of the dossier."""

    def __init__(self, inner):
        self.inner = inner

    def convert_to_pdfa(self, src, dest, *, timeout=None, checked=True):
        if "通知书" not in Path(src).stem:
            return self.inner.convert_to_pdfa(src, dest, timeout=timeout, checked=checked)
        pdf = pikepdf.new()
        pdf.add_blank_page(page_size=(595, 842))
        page = pdf.pages[0]
        font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                    BaseFont=pikepdf.Name.Helvetica))
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.Contents = pdf.make_stream(b"BT /F1 24 Tf 72 720 Td (Notice) Tj ET")
        pdf.save(dest)
        return dest


def test_a_document_the_converter_no_longer_checks_is_checked_in_the_dossier(new_home, converter, tmp_path):
    home = new_home(tmp_path / "home")
    dest = tmp_path / "out" / "dossier.pdf"
    with pytest.raises(ConversionFailed) as exc:
        build_dossier(EXAMPLES / "bureau-video", dest, home=home, converter=PlainNotice(converter), filed_by="测试")
    assert "PDF/A-3b" in exc.value.message and "未封存入库" in exc.value.message
    assert "Helvetica" in exc.value.message or "嵌入" in exc.value.message or "embed" in exc.value.message
    assert not dest.exists()


def test_the_stage_table_has_a_row_per_case_and_the_median():
    lines = stage_table([("A", {"intake": 0.1, "convert": 1.0, "wall": 2.0}),
                         ("B", {"intake": 0.3, "normalise": 2.5, "wall": 3.0})])
    assert lines[0].split() == ["接收核验", "转换", "规范化/OCR", "全程"]
    assert lines[1].split() == ["A", "0.10", "1.00", "0.00", "2.00"]
    assert lines[3].split() == ["中位数", "0.20", "0.50", "1.25", "2.50"]
    assert len({len(line.encode("gbk")) for line in lines}) == 1, "columns line up (CJK counts two)"


@pytest.mark.filterwarnings("ignore::UserWarning")   # pikepdf's PageCopyWarning: the parts need no form
def test_the_index_text_read_from_the_whole_dossier_is_each_documents_own_text(example_archive, tmp_path):
    """The store stage reads the dossier once (one pdftotext) and splits it by the documents' page counts; each
    document's text is what pdftotext gives for that document alone, and a mismatch falls back to reading each."""
    from pipeline.external.poppler import pdf_text
    from pipeline.records.ingest import StagedBuild, _document_texts

    with example_archive.catalog() as catalog:
        record = catalog.current(CASE_ID)
    folder = tmp_path / "staged"
    folder.mkdir()
    example_archive.blobs().export_to(record.dossier_sha256, folder / "dossier.pdf")
    stored = json.loads(example_archive.blobs().read_bytes(record.text_sha256))
    documents = []
    with pikepdf.open(folder / "dossier.pdf") as dossier:      # the documents again, cut at the bookmarks
        with dossier.open_outline() as outline:
            starts = [pikepdf.Page(item.destination[0]).index for item in outline.root]
        for n, (start, end) in enumerate(zip(starts, [*starts[1:], len(dossier.pages)])):
            with pikepdf.new() as part:
                part.pages.extend(dossier.pages[start:end])
                part.save(folder / f"part-{n}.pdf")
            documents.append([stored["documents"][n]["key"], stored["documents"][n]["title"], f"part-{n}.pdf"])
    assert len(documents) == len(stored["documents"]) >= 6
    staged = StagedBuild(folder=folder, case_id=CASE_ID, notice_number=record.notice_number,
                         dossier_sha256=record.dossier_sha256, manifest_sha256=record.manifest_sha256,
                         page_count=record.page_count, archived_on=date.today(), findings=[], files={},
                         documents=documents)
    alone = [pdf_text(folder / rel) for _, _, rel in documents]
    assert [d["text"] for d in _document_texts(staged)["documents"]] == alone
    assert [d["text"] for d in stored["documents"]] == alone, "what ingest stored is the same text"
    assert "约谈" in alone[2] and alone[2].count("\f") == len(pikepdf.open(folder / "part-2.pdf").pages)

    short = replace(staged, documents=documents[1:])            # pages do not add up: each document on its own
    assert [d["text"] for d in _document_texts(short)["documents"]] == alone[1:]


def test_the_next_cases_uploads_are_normalised_ahead_and_give_the_same_dossier(new_home, tmp_path, caplog):
    """Under -j 1 the uploads of the case to come (PDFs and images) are normalised while the current case is
    converted and checked; the case then takes them. A refused upload refuses its case as it would without.
    Once a case's dossier is sealed, the next case starts building while the dossier is checked and stored."""
    from tests.synthetic import make_example_shaped_cases

    cases = make_example_shaped_cases(4, tmp_path / "cases")
    broken = cases[3] / "整改报告.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)                # nothing qpdf can rebuild
    ahead = new_home(tmp_path / "ahead")
    stages: list[tuple[str, str]] = []
    with caplog.at_level("DEBUG", logger="pipeline.records.ingest"):
        results = ingest_cases(cases, home=ahead, actor=person("档案员甲"),
                               on_stage=lambda source, name: stages.append((Path(source).name, name)))
    for before, after in zip(cases, cases[1:]):
        assert stages.index((after.name, "check")) < stages.index((before.name, "store")), "\n".join(map(str, stages))
    taken = [r.getMessage() for r in caplog.records if r.getMessage().startswith("提前规范化")]
    # every upload of cases 2-4 but a DOCX (it waits for the LibreOffice the case before is using)
    expected = sum(1 for folder in cases[1:] for p in folder.iterdir() if p.suffix in (".pdf", ".jpg", ".png"))
    assert taken == [f"提前规范化 {expected} 份上传材料"], taken
    assert [r.status for r in results] == ["ingested", "ingested", "ingested", "refused"], [r.message for r in results]
    assert broken.name in results[3].message

    alone = new_home(tmp_path / "alone")
    for folder in cases[:3]:
        [one] = ingest_cases([folder], home=alone, actor=person("档案员甲"))
        assert one.status == "ingested", one.message
    for result in results[:3]:
        got, want = (_normalisation(home, result.case_id, tmp_path / f"{home.path.name}-{result.case_id}.pdf")
                     for home in (ahead, alone))
        assert got == want and got, result.case_id
    [again] = ingest_cases([cases[3]], home=alone, actor=person("档案员甲"))
    assert (again.status, again.message) == (results[3].status, results[3].message)


def _normalisation(home, case_id: str, dest: Path) -> list[tuple]:
    """How each upload of the stored dossier was normalised (from its manifest) and the text of its pages."""
    from pipeline.external.poppler import page_texts
    from pipeline.pdf.verify import verify_dossier
    from pipeline.records.lookup import open_dossier

    open_dossier(home, case_id, dest)
    assert verify_dossier(dest).ok
    with pikepdf.open(dest) as pdf:
        manifest = json.loads(pdf.attachments["manifest.json"].get_file().read_bytes())
    entries = [(e["name"], e["rung"], json.dumps(e["attempts"], ensure_ascii=False, sort_keys=True))
               for e in manifest["normalisation"]]
    hashes = re.compile(r"[0-9a-f]{16,}")        # the manifest hash: the normalised PDFs' bytes are not reproducible
    return entries + [("text", hashes.sub("#", " ".join(t.split()))) for t in page_texts(dest)]
