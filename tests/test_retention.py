"""Retention (第二十条), holds, the 销毁清册 and the purge, on a real archive home (SQLite, blob store, Whoosh)."""
from __future__ import annotations

import json
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from pipeline.errors import InvalidArgument
from pipeline.retention import (LIST_HEADERS, LIST_TITLE, RetentionEntry, RetentionStatus, build_plan, load_plan,
                                plan_sha256, retention_dates, retention_rule, write_destruction_docx,
                                write_destruction_xlsx)

from archive_store.home import DocumentFontNames


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
