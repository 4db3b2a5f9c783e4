"""Issue 16: a normalised upload is reused (by the sha256 of the original and the normaliser's version) when a case
is ingested again or superseded, a changed upload is normalised afresh, and a purge leaves nothing of its uploads in
the cache. Real archive homes (copies of the example archive), LibreOffice, OCRmyPDF."""
from __future__ import annotations

from datetime import date

from archive_store.catalog import Catalog
from archive_store.durable import sha256_file
from pipeline.pdf.upload_cache import upload_cache
from pipeline.records.ingest import ingest_case
from pipeline.records.retention import execute_plan, plan_destruction, purge_leftovers

from . import odd_uploads as odd
from .conftest import load_example, person

ONSITE = "institution-onsite"
CASE_ID = load_example(ONSITE)["case_id"]
SCAN = "现场复查记录.jpg"


def upload_pdfs(home, case_id: str, version: int) -> dict[str, str]:
    """{original file name: sha256 of the PDF/A it was normalised into} of one stored version."""
    with Catalog(home.catalog_path) as catalog:
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

    # the scan is retaken (other bytes): it alone is normalised, by OCR, and the other two still come from the cache
    retaken = make_case(ONSITE, lambda c: c["organizer"]["contact"].update(phone="0791-86358122"))
    odd.scan_image(text="整改复查记录 重新拍摄").save(retaken / SCAN, quality=90, dpi=(150, 150))
    cache = upload_cache(home)
    new_version(home, retaken, converter, cache)
    assert (cache.hits, cache.misses) == (2, 1)
    third = upload_pdfs(home, CASE_ID, 3)
    assert third["整改方案.pdf"] == first["整改方案.pdf"] and third["整改报告.pdf"] == first["整改报告.pdf"]
    assert third[SCAN] != first[SCAN]
    assert cache.holds(sha256_file(retaken / SCAN)), "what was normalised now is kept for the next time"


def test_purge_removes_the_cache_entries_of_destroyed_uploads(archive_copy, tmp_path):
    home = archive_copy
    cache = upload_cache(home)
    with Catalog(home.catalog_path) as catalog:
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
