"""The 档号 wherever the web application names a case: search hits, the case
page and its dossier viewer, the retention list, an export's cases, the credit file (page and XLSX), and the
auditor's ledger and access log. The cases are this module's own (the session's archive is shared, a walk may
destroy others); destruction plans and tombstones are checked where the plan is walked (keeping tests)."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from pipeline import api
from tests.stored_cases import credit_code

ORGANIZER = "宜春市档号测试市场监督管理局"
CREDIT = credit_code(4242)


@pytest.fixture(scope="module")
def coded(web_home) -> dict[str, str]:
    """Two cases of this module's own, closed in 2024: case_id → 档号."""
    from tests.stored_cases import store_case

    codes = {}
    for case_id, closed in (("CODE-2024-001", date(2024, 5, 31)), ("CODE-2024-002", date(2024, 6, 28))):
        with web_home.catalog() as catalog:
            record = catalog.current(case_id)
        if record is None:
            record = store_case(web_home, case_id, closed, organizer=ORGANIZER, region_code="360900", credit=CREDIT)
        assert record.archival_code and "2024" in record.archival_code
        codes[case_id] = record.archival_code
    assert len(set(codes.values())) == 2
    return codes


def test_search_hits_carry_the_code(coded, client_for):
    """(A search by the 档号 finds a built case through its cover's text: tests/test_arrangement.py; these stored
    cases have no document texts.)"""
    client = client_for("rea")
    page = client.get("/search/", {"q": "数据失实", "organizer": "档号测试"}).content.decode()
    for case_id, code in coded.items():
        assert f'档号 <span class="code">{code}</span>' in page, case_id
    hits = client.get("/api/search", {"organizer": "档号测试"}).json()["hits"]
    assert {h["case_id"]: h["archival_code"] for h in hits} == coded


def test_case_page_and_viewer_show_the_code(coded, client_for):
    client = client_for("rea")
    code = coded["CODE-2024-001"]
    page = client.get("/cases/CODE-2024-001/").content.decode()
    assert f'<dd class="code archival-code">{code}</dd>' in page
    assert f"档号 {code}" in client.get("/cases/CODE-2024-001/viewer/").content.decode()
    assert client.get("/api/cases/CODE-2024-001").json()["record"]["archival_code"] == code


def test_retention_list_names_each_case_by_its_code(web_home, coded, client_for):
    page = client_for("arc").get("/keeping/", {"case": "CODE-2024-001"}).content.decode()
    assert f'<td class="code">{coded["CODE-2024-001"]}</td>' in page
    rows = {r["case_id"]: r for r in client_for("app").get("/api/retention").json()["cases"]}
    assert rows["CODE-2024-002"]["archival_code"] == coded["CODE-2024-002"]


def test_an_exports_cases_are_listed_by_code(web_home, coded, client_for):
    auditor = api.Actor(name="t", role=api.Role.auditor)
    before = {e.export_id for e in api.approvals.exports(web_home, actor=auditor)}
    until = (date.today() + timedelta(days=7)).isoformat()
    assert client_for("arc").post("/exports/prepare", {"organizer": "档号测试", "grantee": "ins",
                                                       "until": until}).status_code == 302
    [export] = [e for e in api.approvals.exports(web_home, actor=auditor) if e.export_id not in before]
    assert sorted(export.case_ids) == sorted(coded)
    page = client_for("app").get("/exports/").content.decode()
    row = page[page.index(f'data-export="{export.export_id}"'):]
    row = row[:row.index("</tr>")]
    for case_id, code in coded.items():
        assert f'<a href="/cases/{case_id}/">{code}</a>' in row


def test_credit_file_names_the_code_on_the_page_and_in_the_xlsx(coded, client_for):
    client = client_for("rea")
    page = client.get("/reports/credit/", {"code": CREDIT}).content.decode()
    for code in coded.values():
        assert f'<td class="code">{code}</td>' in page
    download = client.get("/reports/credit/", {"code": CREDIT, "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(b"".join(download.streaming_content))).active.iter_rows(values_only=True))
    column = rows[0].index("档号")
    assert {r[column] for r in rows[1:]} == set(coded.values())


def test_the_auditor_sees_the_code_beside_the_case_in_the_ledger_and_the_access_log(coded, client_for):
    client_for("rea").get("/cases/CODE-2024-002/")
    auditor = client_for("aud")
    ledger = auditor.get("/audit/", {"case": "CODE-2024-002"}).content.decode()
    assert f'CODE-2024-002<br><small class="code">{coded["CODE-2024-002"]}</small>' in ledger
    access = auditor.get("/audit/access/", {"account": "rea", "kind": "case_view"}).content.decode()
    assert f'CODE-2024-002<br><small class="code">档号 {coded["CODE-2024-002"]}</small>' in access
