"""Retention (第二十条), holds, the 销毁清册 and the purge, on a real archive home (SQLite, blob store, Whoosh)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from archive_store import ledger
from archive_store.blobs import FilesystemBlobStore
from archive_store.catalog import check_store
from archive_store.errors import ArchiveConflict, InvalidArgument
from archive_store.home import DocumentFontNames, open_home
from pipeline.pdf.pdfa import check_pdfa
from pipeline.records.retention import (
    LIST_HEADERS,
    LIST_TITLE,
    PurgeStatus,
    RetentionEntry,
    RetentionStatus,
    build_plan,
    execute_plan,
    load_plan,
    place_hold,
    plan_destruction,
    plan_sha256,
    purge_leftovers,
    release_hold,
    retention_dates,
    retention_rule,
    retention_schedule,
    tombstone_summary,
    write_destruction_docx,
    write_destruction_xlsx,
)
from pipeline.search import index

from .conftest import person
from .stored_cases import credit_code, store_case
from .synthetic import make_case_folders

pytestmark = pytest.mark.catalog     # runs on PostgreSQL too (make test: --catalog postgresql -m catalog)

# --- the rule --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("closed_on, expires_on, purgeable_from", [
    (date(2019, 5, 10), date(2025, 12, 31), date(2026, 1, 1)),
    (date(2019, 12, 31), date(2025, 12, 31), date(2026, 1, 1)),
    (date(2019, 1, 1), date(2025, 12, 31), date(2026, 1, 1)),
    (date(2020, 1, 1), date(2026, 12, 31), date(2027, 1, 1)),
    (date(2018, 2, 28), date(2024, 12, 31), date(2025, 1, 1)),
])
def test_retention_counts_from_first_january_after_closing(closed_on, expires_on, purgeable_from):
    assert retention_dates(closed_on, 6) == (expires_on, purgeable_from)


def test_retention_years_are_configurable():
    assert retention_dates(date(2019, 5, 10), 10) == (date(2029, 12, 31), date(2030, 1, 1))


def test_rule_text_states_article_and_example():
    rule = retention_rule(6)
    assert "第二十条" in rule and "次年1月1日" in rule and "2025年12月31日" in rule and "2026年1月1日" in rule


# --- the plan and its documents, without an archive --------------------------------------------------------

def _entry(case_id: str, closed_on: date, status: RetentionStatus) -> RetentionEntry:
    expires_on, purgeable_from = retention_dates(closed_on, 6)
    return RetentionEntry(case_id=case_id, version=1, notice_number=f"赣市监检约〔{closed_on.year}〕{len(case_id)}号",
                          title=f"关于{case_id}的约谈", target_name=f"江西{case_id}检测有限公司",
                          organizer="江西省市场监督管理局", closed_on=closed_on, expires_on=expires_on,
                          purgeable_from=purgeable_from, held=status is RetentionStatus.held, hold_reasons=[],
                          status=status)


def _record(case_id: str) -> SimpleNamespace:
    return SimpleNamespace(case_id=case_id, credit_code="91360100MA35XXXXXX", interview_on="2018-06-01",
                           page_count=12, manifest_sha256="a" * 64, dossier_sha256="b" * 64)


def _plan() -> dict:
    entries = [_entry("A", date(2018, 7, 1), RetentionStatus.expired),
               _entry("BB", date(2019, 12, 31), RetentionStatus.expired),
               _entry("CCC", date(2019, 3, 1), RetentionStatus.held),
               _entry("DDDD", date(2022, 3, 1), RetentionStatus.retained)]
    return build_plan(entries, {e.case_id: _record(e.case_id) for e in entries}, plan_id="XH-2026-0001",
                      as_of=date(2026, 1, 1), years=6, created_by="档案员甲",
                      created_at=datetime(2026, 1, 5, 9, 30))


def test_plan_lists_only_expired_unheld_cases_and_hashes_itself():
    plan = _plan()
    assert [c["case_id"] for c in plan["cases"]] == ["A", "BB"]
    assert plan["cases"][1]["expires_on"] == "2025-12-31" and plan["cases"][1]["purgeable_from"] == "2026-01-01"
    assert plan["totals"] == {"cases": 2, "pages": 24}
    assert plan["plan_sha256"] == plan_sha256(plan) and len(plan["plan_sha256"]) == 64
    changed = dict(plan, as_of="2027-01-01")
    assert plan_sha256(changed) != plan["plan_sha256"]


def test_changed_plan_file_is_refused(tmp_path):
    plan = _plan()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    assert load_plan(path)["plan_id"] == "XH-2026-0001"
    plan["cases"][0]["case_id"] = "Z"
    path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidArgument, match="被改动过"):
        load_plan(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidArgument, match="无法解析"):
        load_plan(path)


def test_destruction_xlsx_has_title_headers_rows_rule_and_approval_fields(tmp_path):
    plan = _plan()
    write_destruction_xlsx(plan, tmp_path / "list.xlsx")
    sheet = load_workbook(tmp_path / "list.xlsx").active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    flat = "\n".join(str(v) for row in values for v in row if v is not None)
    assert values[0][0] == LIST_TITLE
    header_index = next(i for i, row in enumerate(values) if row[0] == "序号")
    assert list(values[header_index]) == LIST_HEADERS
    rows = values[header_index + 1: header_index + 3]
    assert [r[2] for r in rows] == ["A", "BB"]
    assert rows[1][6] == "2019-12-31" and rows[1][7] == "6年" and rows[1][8] == "2025-12-31"
    assert rows[0][10] == "a" * 64 and rows[0][9] == 12
    for text in ("第二十条", "XH-2026-0001", plan["plan_sha256"], "鉴定小组意见", "批准人", "日期"):
        assert text in flat
    assert flat.count("监销人") == 2


def test_destruction_docx_carries_the_same_content(tmp_path):
    from docx import Document

    plan = _plan()
    write_destruction_docx(plan, tmp_path / "list.docx", fonts=DocumentFontNames())
    doc = Document(tmp_path / "list.docx")
    text = "\n".join(p.text for p in doc.paragraphs)
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == LIST_HEADERS
    assert [r.cells[2].text for r in table.rows[1:]] == ["A", "BB"]
    assert LIST_TITLE in text and "第二十条" in text and text.count("监销人") == 2 and "批准人" in text
    assert doc.sections[0].page_width > doc.sections[0].page_height


# --- on a real archive home ------------------------------------------------------------------------------

CLOSED = {"C2018": date(2018, 6, 15), "C2019A": date(2019, 5, 10), "C2019B": date(2019, 12, 31),
          "C2019H": date(2019, 3, 1), "C2020": date(2020, 1, 1), "C2022": date(2022, 7, 1),
          "C2024": date(2024, 11, 30), "C2026": date(2026, 3, 1)}


@pytest.fixture
def archive(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    for n, (case_id, closed_on) in enumerate(CLOSED.items(), start=1):
        store_case(home, case_id, closed_on, credit=credit_code(n))
    place_hold(home, "C2019H", reason="行政诉讼期间保全", actor=person("法规科"))
    return home


@pytest.mark.parametrize("as_of, expired", [
    (date(2024, 12, 31), set()),
    (date(2025, 1, 1), {"C2018"}),
    (date(2025, 12, 31), {"C2018"}),                                  # 2019-12-31 not yet
    (date(2026, 1, 1), {"C2018", "C2019A", "C2019B"}),               # ... and now it is
    (date(2026, 12, 31), {"C2018", "C2019A", "C2019B"}),
    (date(2027, 1, 1), {"C2018", "C2019A", "C2019B", "C2020"}),
    (date(2033, 1, 1), {"C2018", "C2019A", "C2019B", "C2020", "C2022", "C2024", "C2026"}),
])
def test_schedule_marks_exactly_the_expired_unheld_cases(archive, as_of, expired):
    entries = {e.case_id: e for e in retention_schedule(archive, as_of=as_of)}
    assert set(entries) == set(CLOSED)
    assert {c for c, e in entries.items() if e.status is RetentionStatus.expired} == expired
    assert entries["C2019H"].status is RetentionStatus.held and entries["C2019H"].hold_reasons == ["行政诉讼期间保全"]
    assert entries["C2019B"].expires_on == date(2025, 12, 31) and entries["C2019B"].purgeable_from == date(2026, 1, 1)


def test_retention_years_come_from_the_settings(archive):
    settings = archive.path / "yuetan.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("years = 6", "years = 10"), encoding="utf-8")
    home = open_home(archive.path)
    entries = {e.case_id: e for e in retention_schedule(home, as_of=date(2026, 1, 1))}
    assert entries["C2018"].expires_on == date(2028, 12, 31)
    assert not any(e.status is RetentionStatus.expired for e in entries.values())


def test_hold_and_release_go_into_the_ledger_and_name_the_case(archive):
    with archive.catalog() as catalog:
        record = catalog.current("C2019A")
    change = place_hold(archive, record.notice_number, reason="信访复查", actor=person("张三"))
    assert change.case_id == "C2019A"
    with pytest.raises(InvalidArgument, match="理由"):
        release_hold(archive, "C2019A", reason="  ", actor=person("张三"))
    release_hold(archive, "C2019A", reason="复查结束", actor=person("李四"))
    with pytest.raises(ArchiveConflict, match="未被冻结"):
        release_hold(archive, "C2019A", reason="again", actor=person("李四"))
    with pytest.raises(InvalidArgument, match="没有案件编号或文号"):
        place_hold(archive, "NO-SUCH", reason="x", actor=person("张三"))
    with archive.catalog() as catalog:
        entries = ledger.entries(catalog, case_id="C2019A")
        assert [(e.action, e.actor, e.details["reason"]) for e in entries if e.action != "ingest"] == [
            ("hold", "张三", "信访复查"), ("release", "李四", "复查结束")]
        assert ledger.verify_chain(catalog) == []
        assert not catalog.active_holds("C2019A") and catalog.active_holds("C2019H")


# --- plan and purge --------------------------------------------------------------------------------------

YUETAN = Path(sys.executable).parent / "yuetan"
NEW_YEAR_2026 = date(2026, 1, 1)
PURGEABLE_2026 = {"C2018", "C2019A", "C2019B"}


def _blob_store(home):
    return FilesystemBlobStore(home.path / "blobs")


def _case_blobs(home, case_ids) -> dict[str, set[str]]:
    with home.catalog() as catalog:
        return {c: catalog.case_shas(c) for c in case_ids}


def test_plan_writes_the_destruction_list_and_deletes_nothing(archive, converter, tmp_path):
    blobs_before = set(_blob_store(archive).iter_shas())
    plan = plan_destruction(archive, tmp_path / "plan", actor=person("档案员甲"), as_of=NEW_YEAR_2026, converter=converter)
    assert {c["case_id"] for c in plan["cases"]} == PURGEABLE_2026
    assert plan["plan_id"].startswith("XH-") and plan["as_of"] == "2026-01-01"
    written = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))
    assert written == plan and plan_sha256(written) == plan["plan_sha256"]
    with archive.catalog() as catalog:
        head = ledger.head(catalog)
    assert plan["ledger_head"] == {"seq": head.seq - 1, "entry_hash": head.prev_hash}   # the chain before the plan
    sheet = load_workbook(tmp_path / "plan" / "销毁清册.xlsx").active
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    assert LIST_TITLE in cells and {"C2018", "C2019A", "C2019B"} <= set(cells) and "C2019H" not in cells
    pdf = tmp_path / "plan" / "销毁清册.pdf"
    assert check_pdfa(pdf, expect_part=2) == []
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    for needle in (LIST_TITLE, "C2019B", "监销人", "批准人", "鉴定小组意见", "第二十条", plan["plan_id"],
                   plan["ledger_head"]["entry_hash"]):
        assert needle in text
    assert set(_blob_store(archive).iter_shas()) == blobs_before
    with archive.catalog() as catalog:
        assert catalog.plan(plan["plan_id"]).plan_sha256 == plan["plan_sha256"]
        assert all(r.status == "current" for r in catalog.all_cases())
        recorded = [e for e in ledger.entries(catalog) if e.action == "purge_plan"]
        assert recorded[-1].details["plan_sha256"] == plan["plan_sha256"]
    again = plan_destruction(archive, tmp_path / "plan2", actor=person("档案员甲"), as_of=NEW_YEAR_2026,
                             converter=converter)
    assert again["plan_id"] != plan["plan_id"]
    with pytest.raises(ArchiveConflict, match="已存在"):
        plan_destruction(archive, tmp_path / "plan", actor=person("档案员甲"), as_of=NEW_YEAR_2026, converter=converter)


def test_purge_deletes_exactly_the_planned_expired_unheld_cases(archive, converter, tmp_path):
    before = _case_blobs(archive, CLOSED)
    shared = before["C2018"] & before["C2022"]
    assert shared, "the fixture shares the upload between cases"
    plan = plan_destruction(archive, tmp_path / "plan", actor=person("档案员甲"), as_of=NEW_YEAR_2026, converter=converter)
    report = execute_plan(archive, tmp_path / "plan" / "plan.json", approved_by="王局长", actor=person("档案员甲"),
                          today=NEW_YEAR_2026)
    assert {o.case_id: o.status for o in report.outcomes} == {c: PurgeStatus.purged for c in PURGEABLE_2026}
    present = set(_blob_store(archive).iter_shas())
    for case_id in PURGEABLE_2026:
        assert not (before[case_id] - shared) & present, f"{case_id}'s own blobs must be gone"
    assert shared <= present
    for case_id in set(CLOSED) - PURGEABLE_2026:
        assert before[case_id] <= present
    with archive.catalog() as catalog:
        for case_id in PURGEABLE_2026:
            assert catalog.current(case_id) is None and catalog.documents(case_id, 1) == []
            stone = catalog.tombstone(case_id)
            assert (stone.plan_id, stone.approved_by, stone.closed_on) == (plan["plan_id"], "王局长", CLOSED[case_id])
        assert catalog.current("C2019H") is not None
        assert catalog.plan(plan["plan_id"]).approved_by == "王局长"
        assert ledger.verify_chain(catalog) == []
        purges = [e for e in ledger.entries(catalog) if e.action == "purge"]
        assert {e.case_id for e in purges} == PURGEABLE_2026
    kept = archive.path / "plans" / plan["plan_id"]
    assert sorted(p.name for p in kept.iterdir()) == ["plan.json", "销毁清册.pdf", "销毁清册.xlsx"]
    assert load_plan(kept / "plan.json")["plan_sha256"] == plan["plan_sha256"]
    assert purge_leftovers(archive) == []
    with archive.catalog() as catalog:
        audit = check_store(catalog, _blob_store(archive))
    assert audit.ok and audit.purge_leftovers == [] and audit.unreferenced == [], audit.problems
    assert set(index.indexed_case_ids(archive.path / "index")) == set(CLOSED) - PURGEABLE_2026
    found = {h.case_id for h in index.search(archive.path / "index", "数据失实", limit=50).hits}
    assert found == set(CLOSED) - PURGEABLE_2026
    for case_id in PURGEABLE_2026:
        assert index.search(archive.path / "index", case_id).total == 0
    summary = tombstone_summary(archive, "C2019B")
    assert summary["plan_id"] == plan["plan_id"] and summary["closed_on"] == "2019-12-31"
    assert tombstone_summary(archive, summary["notice_number"])["case_id"] == "C2019B"
    assert summary["approved_by"] == "王局长" and tombstone_summary(archive, "C2022") is None
    with pytest.raises(ArchiveConflict, match="已销毁"):
        place_hold(archive, "C2019B", reason="迟到的保全", actor=person("张三"))
    rerun = execute_plan(archive, tmp_path / "plan" / "plan.json", approved_by="王局长", actor=person("档案员甲"),
                         today=NEW_YEAR_2026)
    assert {o.status for o in rerun.outcomes} == {PurgeStatus.already}


def test_purge_takes_every_version_of_a_superseded_case(archive, converter, tmp_path):
    store_case(archive, "C2018", CLOSED["C2018"], credit=credit_code(1), revision=2)
    before = _case_blobs(archive, ["C2018"])["C2018"]
    plan = plan_destruction(archive, tmp_path / "plan", actor=person("档案员甲"), as_of=NEW_YEAR_2026, converter=converter)
    assert next(c for c in plan["cases"] if c["case_id"] == "C2018")["version"] == 2
    execute_plan(archive, tmp_path / "plan" / "plan.json", approved_by="王局长", actor=person("档案员甲"), today=NEW_YEAR_2026)
    with archive.catalog() as catalog:
        assert [v.status for v in catalog.versions("C2018")] == ["purged", "purged"]
        assert [t.version for t in catalog.tombstones("C2018")] == [1, 2]
        shared = catalog.referenced_shas()
    assert not (before - shared) & set(_blob_store(archive).iter_shas())
    assert tombstone_summary(archive, "C2018")["versions"] == [1, 2]


def test_purge_skips_what_changed_since_the_plan(archive, converter, tmp_path):
    plan_destruction(archive, tmp_path / "plan", actor=person("档案员甲"), as_of=date(2026, 6, 1), converter=converter)
    place_hold(archive, "C2019A", reason="审计调阅", actor=person("审计"))
    report = execute_plan(archive, tmp_path / "plan" / "plan.json", approved_by="王局长", actor=person("档案员甲"),
                          today=date(2025, 12, 31))
    status = {o.case_id: o.status for o in report.outcomes}
    assert status == {"C2018": PurgeStatus.purged, "C2019A": PurgeStatus.held, "C2019B": PurgeStatus.not_due}
    plan_destruction(archive, tmp_path / "plan2", actor=person("档案员甲"), as_of=NEW_YEAR_2026, converter=converter)
    store_case(archive, "C2019B", CLOSED["C2019B"], credit=credit_code(3), revision=2)   # corrected after planning
    report = execute_plan(archive, tmp_path / "plan2" / "plan.json", approved_by="王局长", actor=person("档案员甲"),
                          today=NEW_YEAR_2026)
    assert {o.case_id: o.status for o in report.outcomes}["C2019B"] is PurgeStatus.changed
    with archive.catalog() as catalog:
        assert catalog.current("C2019A") is not None and catalog.current("C2019B") is not None


def test_changed_or_unknown_plan_is_refused_and_nothing_is_deleted(archive, converter, tmp_path):
    plan = plan_destruction(archive, tmp_path / "plan", actor=person("档案员甲"), as_of=NEW_YEAR_2026, converter=converter)
    blobs = set(_blob_store(archive).iter_shas())
    path = tmp_path / "plan" / "plan.json"
    original = path.read_bytes()
    edited = json.loads(original)
    edited["cases"].append(dict(edited["cases"][0], case_id="C2024"))
    path.write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidArgument, match="被改动过"):
        execute_plan(archive, path, approved_by="王局长", actor=person("x"), today=NEW_YEAR_2026)
    edited["plan_sha256"] = plan_sha256(edited)       # re-hashed by hand: the catalog still knows the original
    path.write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidArgument, match="摘要不符"):
        execute_plan(archive, path, approved_by="王局长", actor=person("x"), today=NEW_YEAR_2026)
    edited["plan_id"] = "XH-2099-0001"
    edited["plan_sha256"] = plan_sha256(edited)
    path.write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidArgument, match="没有销毁计划"):
        execute_plan(archive, path, approved_by="王局长", actor=person("x"), today=NEW_YEAR_2026)
    path.write_bytes(original)
    listing = tmp_path / "plan" / "销毁清册.xlsx"
    listing_bytes = listing.read_bytes()
    listing.write_bytes(listing_bytes + b"\0")
    with pytest.raises(InvalidArgument, match="销毁清册.xlsx 在编制后被改动过"):
        execute_plan(archive, path, approved_by="王局长", actor=person("x"), today=NEW_YEAR_2026)
    listing.unlink()
    with pytest.raises(InvalidArgument, match="销毁清册.xlsx 不存在"):
        execute_plan(archive, path, approved_by="王局长", actor=person("x"), today=NEW_YEAR_2026)
    listing.write_bytes(listing_bytes)
    assert set(_blob_store(archive).iter_shas()) == blobs
    assert not (archive.path / "plans").exists()
    result = _yuetan("--home", str(archive.path), "purge", "--execute", str(path))
    assert result.returncode == 2 and "--approved-by" in result.stderr
    assert plan["plan_id"]


@pytest.mark.parametrize("step", ["purge_after_catalog", "purge_after_first_blob", "purge_after_blobs"])
def test_purge_killed_midway_is_finished_by_a_rerun(archive, converter, tmp_path, step):
    """A real child process kills itself (SIGKILL) between steps; audit sees the leftovers, a rerun ends them."""
    plan = plan_destruction(archive, tmp_path / "plan", actor=person("档案员甲"), converter=converter)
    assert {c["case_id"] for c in plan["cases"]} == PURGEABLE_2026      # today is after 2026-01-01
    before = _case_blobs(archive, CLOSED)
    args = ["--home", str(archive.path), "purge", "--execute", str(tmp_path / "plan" / "plan.json"),
            "--approved-by", "王局长", "--actor", "档案员甲", "--json"]
    crashed = _yuetan(*args, env={"YUETAN_CRASH_AT": step})
    assert crashed.returncode == -signal.SIGKILL
    with archive.catalog() as catalog:
        purged_first = {t.case_id for t in catalog.tombstones()}
    assert len(purged_first) == 1
    leftovers = purge_leftovers(archive)
    assert leftovers and all(next(iter(purged_first)) in p for p in leftovers)
    assert any("检索索引" in p for p in leftovers)
    assert any("仍在档案库中" in p for p in leftovers) == (step != "purge_after_blobs")
    audit = _yuetan("--home", str(archive.path), "audit", "--json")
    report = json.loads(audit.stdout)
    assert audit.returncode == 0 and report["ok"], report   # a crash leaves explained leftovers, not damage
    assert set(leftovers) <= set(report["pending"])
    rerun = _yuetan(*args)
    assert rerun.returncode == 0, rerun.stderr
    outcome = {c["case_id"]: c["status"] for c in json.loads(rerun.stdout)["cases"]}
    assert outcome == {c: ("already" if c in purged_first else "purged") for c in PURGEABLE_2026}
    assert purge_leftovers(archive) == []
    report = json.loads(_yuetan("--home", str(archive.path), "audit", "--json").stdout)
    assert report["ok"] and report["pending"] == [], report
    assert not set(index.indexed_case_ids(archive.path / "index")) & PURGEABLE_2026
    present = set(_blob_store(archive).iter_shas())
    shared = before["C2018"] & before["C2022"]
    for case_id in PURGEABLE_2026:
        assert not (before[case_id] - shared) & present
    with archive.catalog() as catalog:
        assert {t.case_id for t in catalog.tombstones()} == PURGEABLE_2026
        assert len([e for e in ledger.entries(catalog) if e.action == "purge"]) == 3
        assert ledger.verify_chain(catalog) == []


def _yuetan(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(YUETAN), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_retention_hold_release_and_plan_commands(archive, tmp_path):
    home = ["--home", str(archive.path)]
    listing = _yuetan(*home, "retention", "--as-of", "2026-01-01", "--json")
    assert listing.returncode == 0, listing.stderr
    status = {c["case_id"]: c["status"] for c in json.loads(listing.stdout)["cases"]}
    assert status["C2019B"] == "已到期可销毁" and status["C2019H"] == "冻结中" and status["C2020"] == "在保管期内"
    text = _yuetan(*home, "retention", "--as-of", "2025-12-31").stdout
    assert "第二十条" in text and "可销毁日期" in text
    row = next(line for line in text.splitlines() if "C2019B" in line)     # one table row per case
    assert "在保管期内" in row and "2025-12-31" in row and "2026-01-01" in row
    held = _yuetan(*home, "hold", "C2019B", "--reason", "纪检调阅", "--actor", "纪检组")
    assert held.returncode == 0 and "已冻结" in held.stdout
    listing = json.loads(_yuetan(*home, "retention", "--as-of", "2026-01-01", "--json").stdout)
    assert {c["case_id"]: c["held"] for c in listing["cases"]}["C2019B"] is True
    released = _yuetan(*home, "release", "C2019B", "--reason", "调阅结束", "--actor", "纪检组")
    assert released.returncode == 0 and "已解除冻结" in released.stdout
    missing_reason = _yuetan(*home, "hold", "C2019B")
    assert missing_reason.returncode == 2 and "--reason" in missing_reason.stderr
    planned = _yuetan(*home, "purge", "--plan", "-o", str(tmp_path / "p"), "--as-of", "2025-12-31", "--json")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert [c["case_id"] for c in plan["cases"]] == ["C2018"]
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["plan.json", "销毁清册.pdf", "销毁清册.xlsx"]
    nothing = _yuetan(*home, "purge", "--plan", "-o", str(tmp_path / "q"), "--as-of", "2024-06-01")
    assert nothing.returncode == 0 and "没有到期" in nothing.stdout and not (tmp_path / "q").exists()
    both = _yuetan(*home, "purge", "--plan", "-o", str(tmp_path / "r"), "--execute", str(tmp_path / "p/plan.json"))
    assert both.returncode == 2 and "二者之一" in both.stderr
    bad_date = _yuetan(*home, "retention", "--as-of", "2025-13-01")
    assert bad_date.returncode == 2
    with archive.catalog() as catalog:
        actions = [e.action for e in ledger.entries(catalog) if e.action != "ingest"]
        assert actions == ["hold", "hold", "release", "purge_plan"] and ledger.verify_chain(catalog) == []


def test_ingested_cases_through_retention_export_purge_show_and_audit(prepare_home, tmp_path):
    """The whole life of two real dossiers (ingest builds and seals them) through the commands archivists run."""
    home = ["--home", str(prepare_home(tmp_path / "home"))]
    assert _yuetan(*home, "init").returncode == 0
    old, recent = make_case_folders(2, tmp_path / "cases", closed_years=[2019, 2024])
    ingested = _yuetan(*home, "ingest", "--json", "--actor", "档案员", str(tmp_path / "cases"))
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    old_id, recent_id = old.name, recent.name
    listing = json.loads(_yuetan(*home, "retention", "--json").stdout)
    status = {c["case_id"]: c["status"] for c in listing["cases"]}
    assert status == {old_id: "已到期可销毁", recent_id: "在保管期内"}
    bag = tmp_path / "all.zip"
    assert _yuetan(*home, "export", "-o", str(bag), "--actor", "检查组").returncode == 0
    assert _yuetan(*home, "export", "--verify", str(bag)).returncode == 0
    with zipfile.ZipFile(bag) as archive:
        names = archive.namelist()
    assert any(n.endswith(f"data/{old_id}/dossier.pdf") for n in names)
    planned = _yuetan(*home, "purge", "--plan", "-o", str(tmp_path / "plan"), "--actor", "档案员")
    assert planned.returncode == 0 and old_id in planned.stdout and recent_id not in planned.stdout
    done = _yuetan(*home, "purge", "--execute", str(tmp_path / "plan" / "plan.json"), "--approved-by", "王局长")
    assert done.returncode == 0 and "已销毁" in done.stdout, done.stderr
    search = json.loads(_yuetan(*home, "search", old_id, "--json").stdout)
    assert search["total"] == 0
    assert json.loads(_yuetan(*home, "search", recent_id, "--json").stdout)["total"] == 1
    shown = _yuetan(*home, "show", old_id)
    assert shown.returncode == 0 and "销毁" in shown.stdout and "王局长" in shown.stdout
    audit = _yuetan(*home, "audit", "--json")
    report = json.loads(audit.stdout)
    assert audit.returncode == 0 and report["ok"] and report["pending"] == [], report
    assert _yuetan(*home, "export", "--verify", str(bag)).returncode == 0     # the export outlives the purge


def test_show_gives_the_cases_retention_as_the_retention_list_does(new_home, tmp_path):
    """`yuetan show` (and the case page through api.show): kept through, destroyable from, and the status."""
    from pipeline import api

    archivist = person("王档案")
    home = new_home(tmp_path / "home")
    store_case(home, "OLD-1", date(2017, 6, 30))
    store_case(home, "NEW-1", date(2025, 3, 31))
    old = api.show(home, "OLD-1", actor=archivist).retention
    assert (old.years, old.expires_on, old.purgeable_from, old.held) == (6, date(2023, 12, 31), date(2024, 1, 1), False)
    assert old.status == "已到期可销毁"
    assert api.show(home, "NEW-1", actor=archivist).retention.status == "在保管期内"
    listed = {r.case_id: r for r in api.retention(home, actor=archivist).cases}
    assert (listed["OLD-1"].expires_on, listed["OLD-1"].purgeable_from) == (old.expires_on, old.purgeable_from)
    api.hold(home, "OLD-1", reason="行政复议期间保全", actor=archivist)
    held = api.show(home, "OLD-1", actor=archivist).retention
    assert held.held and held.status == "冻结中"
    shown = _yuetan("--home", str(home.path), "show", "OLD-1")
    assert shown.returncode == 0 and "保管期限：6 年，保管至 2023-12-31，2024-01-01 起可销毁（冻结中）" in shown.stdout
    answer = json.loads(_yuetan("--home", str(home.path), "show", "OLD-1", "--json").stdout)
    assert answer["retention"] == {"years": 6, "expires_on": "2023-12-31", "purgeable_from": "2024-01-01",
                                   "held": True, "status": "冻结中"}
