"""Retention (第二十条), holds, the 销毁清册 and the purge, on a real archive home (SQLite, blob store, Whoosh)."""
from __future__ import annotations

import json
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from archive_store import ledger
from archive_store.catalog import Catalog
from archive_store.home import DocumentFontNames, open_home
from pipeline.errors import ArchiveConflict, InvalidArgument
from pipeline.retention import (LIST_HEADERS, LIST_TITLE, RetentionEntry, RetentionStatus, build_plan, load_plan,
                                place_hold, plan_sha256, release_hold, retention_dates, retention_rule,
                                retention_schedule, write_destruction_docx, write_destruction_xlsx)

from .stored_cases import credit_code, new_home, store_case


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
def archive(tmp_path):
    home = new_home(tmp_path / "home")
    for n, (case_id, closed_on) in enumerate(CLOSED.items(), start=1):
        store_case(home, case_id, closed_on, credit=credit_code(n))
    place_hold(home, "C2019H", reason="行政诉讼期间保全", actor="法规科")
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
    with Catalog(archive.catalog_path) as catalog:
        record = catalog.current("C2019A")
    change = place_hold(archive, record.notice_number, reason="信访复查", actor="张三")
    assert change.case_id == "C2019A"
    with pytest.raises(InvalidArgument, match="理由"):
        release_hold(archive, "C2019A", reason="  ", actor="张三")
    release_hold(archive, "C2019A", reason="复查结束", actor="李四")
    with pytest.raises(ArchiveConflict, match="未被冻结"):
        release_hold(archive, "C2019A", reason="again", actor="李四")
    with pytest.raises(InvalidArgument, match="没有案件编号或文号"):
        place_hold(archive, "NO-SUCH", reason="x", actor="张三")
    with Catalog(archive.catalog_path) as catalog:
        entries = ledger.entries(catalog, case_id="C2019A")
        assert [(e.action, e.actor, e.details["reason"]) for e in entries if e.action != "ingest"] == [
            ("hold", "张三", "信访复查"), ("release", "李四", "复查结束")]
        assert ledger.verify_chain(catalog) == []
        assert not catalog.active_holds("C2019A") and catalog.active_holds("C2019H")
