"""整理与移交 through the test client: the year's catalogue on the page and as XLSX and PDF (read back), the yearly
handover prepared by an archivist (CSRF-checked, ledgered under the account, kept in the archive and found again
by the ledger, its package verified as the receiver verifies it, the 移交清单 read back), who may do what, and a
changed file refused. The year handed over holds only this module's own case, built for real (the handover
verifies every dossier's seal), closed in a year no other web test uses."""
from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from datetime import date, timedelta

import pytest
from django.test import Client
from openpyxl import load_workbook

from pipeline import api
from pipeline.web.accounts.models import AccessEvent
from tests.conftest import EXAMPLES
from tests.readback import CATALOGUE_HEADERS, pdf_text, read_catalogue
from tests.synthetic import _shift_dates

YEAR = 2021                       # the closing year of this module's case; no other web test stores one in it
CASE_ID = "WEBAR-2021-001"
AUDITOR = api.Actor(name="pytest", role=api.Role.auditor)


@pytest.fixture(scope="module")
def built_case(web_home, tmp_path_factory) -> dict:
    """The institution example, moved 208 weeks back (closed in 2021) under its own id and number, ingested for
    real by the archivist `arc`: a sealed dossier with its 档号 from the register."""
    folder = tmp_path_factory.mktemp("arrangement") / "case"
    shutil.copytree(EXAMPLES / "institution-onsite", folder)
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    _shift_dates(case, -timedelta(weeks=208))
    case["case_id"] = CASE_ID
    case["notice"]["number"] = f"赣市监检约〔{YEAR}〕931号"
    assert case["closed_on"].startswith(str(YEAR))
    (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False, indent=1), encoding="utf-8")
    with web_home.catalog() as catalog:
        record = catalog.current(CASE_ID)
    if record is None:
        report = api.ingest(web_home, [folder], actor=api.Actor(name="arc", role=api.Role.archivist))
        assert report.results[0].status == "ingested", report.results[0].message
        with web_home.catalog() as catalog:
            record = catalog.current(CASE_ID)
    assert record.archival_code and str(YEAR) in record.archival_code
    return {"case_id": CASE_ID, "archival_code": record.archival_code, "notice_number": record.notice_number,
            "dossier_sha256": record.dossier_sha256}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def csrf_token(client: Client, page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(page).content.decode()).group(1)


def handovers_of(home) -> list:
    return [e for e in api.ledger_list(home, actor=AUDITOR).entries if e.action == "handover"]


def test_the_years_catalogue_on_the_page_and_as_xlsx_and_pdf(web_home, built_case, client_for, tmp_path):
    code = built_case["archival_code"]
    page = client_for("arc").get("/arrangement/", {"year": YEAR})
    html = page.content.decode()
    assert page.status_code == 200
    assert f"{YEAR}年度" in html and code in html and built_case["notice_number"] in html
    assert f"/arrangement/{YEAR}/catalogue.xlsx" in html and f"/arrangement/{YEAR}/catalogue.pdf" in html
    assert 'action="/arrangement/handovers/"' in html and "csrfmiddlewaretoken" in html

    xlsx = client_for("arc").get(f"/arrangement/{YEAR}/catalogue.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx["Content-Disposition"]
    (tmp_path / "目录.xlsx").write_bytes(body(xlsx))
    headers, rows = read_catalogue(tmp_path / "目录.xlsx")
    assert headers == CATALOGUE_HEADERS
    mine = [r for r in rows if r[1] == code]
    assert len(mine) == 1 and mine[0][2] == built_case["notice_number"] and mine[0][7] == "6年"
    expected = api.catalogue(web_home, YEAR, actor=api.Actor(name="t", role=api.Role.archivist))
    assert [r[1] for r in rows] == [r.archival_code for r in expected.rows]      # the core's catalogue, in order
    book = load_workbook(io.BytesIO(body(client_for("app").get(f"/arrangement/{YEAR}/catalogue.xlsx"))))
    assert book.active.title == f"{YEAR}年度"                                    # the approver reads it too

    pdf = client_for("arc").get(f"/arrangement/{YEAR}/catalogue.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    (tmp_path / "目录.pdf").write_bytes(body(pdf))
    text = squeezed(pdf_text(tmp_path / "目录.pdf"))
    assert squeezed(code) in text and "档号" in text and "保管期限" in text
    events = AccessEvent.objects.filter(kind=AccessEvent.CATALOGUE_DOWNLOAD, account="arc", target=str(YEAR))
    assert {e.details["format"] for e in events} == {"xlsx", "pdf"}

    for name in ("rea", "aud", "ins", "sys"):
        assert client_for(name).get("/arrangement/").status_code == 403, name
        assert client_for(name).get(f"/arrangement/{YEAR}/catalogue.xlsx").status_code == 403, name
    assert client_for("arc").get("/arrangement/1999/catalogue.xlsx").status_code == 404      # no 档号 that year
    assert client_for("arc").get("/arrangement/", {"year": "20x1"}).status_code == 404


def test_a_yearly_handover_prepared_kept_and_downloaded(web_home, built_case, client_for, tmp_path):
    before = {e.seq for e in handovers_of(web_home)}
    archivist = client_for("arc", csrf_checks=True)
    refused = archivist.post("/arrangement/handovers/", {"year": YEAR, "receiver": "江西省档案馆"})
    assert refused.status_code == 403 and "CSRF" in refused.content.decode()            # no token, no handover
    assert {e.seq for e in handovers_of(web_home)} == before
    token = csrf_token(archivist, "/arrangement/")
    done = archivist.post("/arrangement/handovers/", {"year": YEAR, "receiver": "江西省档案馆",
                                                      "csrfmiddlewaretoken": token})
    assert done.status_code == 302 and done["Location"].startswith(f"/arrangement/?year={YEAR}#handover-YJ-{YEAR}-")
    [entry] = [e for e in handovers_of(web_home) if e.seq not in before]
    assert entry.actor == "arc" and entry.role == "archivist"                  # under the account, never free text
    details = entry.details
    handover_id = details["handover_id"]
    assert details["year"] == YEAR and details["receiver"] == "江西省档案馆"
    assert built_case["archival_code"] in details["archival_codes"] and CASE_ID in details["case_ids"]
    page = archivist.get(f"/arrangement/?year={YEAR}").content.decode()
    assert handover_id in page and "已编制" in page and f"/arrangement/handovers/{handover_id}/package.zip" in page

    package = archivist.get(f"/arrangement/handovers/{handover_id}/package.zip")
    assert package.status_code == 200 and package["Cache-Control"] == "private, no-store"
    data = body(package)
    assert hashlib.sha256(data).hexdigest() == details["zip_sha256"]
    (tmp_path / "移交.zip").write_bytes(data)
    # As the receiving archive checks it: signed by this archive's seal (export.package_bag), like a -o handover.
    received = api.handover_verify(tmp_path / "移交.zip", trust=web_home.seal_pkcs12.with_suffix(".crt"))
    assert received.valid and received.signer, received.problems
    assert received.cases == len(details["archival_codes"])

    approver = client_for("app")
    form = approver.get(f"/arrangement/handovers/{handover_id}/files/form.pdf")
    assert form.status_code == 200
    (tmp_path / "移交清单.pdf").write_bytes(body(form))
    assert hashlib.sha256((tmp_path / "移交清单.pdf").read_bytes()).hexdigest() == details["files"]["移交清单.pdf"]
    text = squeezed(pdf_text(tmp_path / "移交清单.pdf"))
    assert "移交清单" in text and "江西省档案馆" in text and squeezed(built_case["archival_code"]) in text
    listed = approver.get(f"/arrangement/handovers/{handover_id}/files/catalogue.xlsx")
    assert listed.status_code == 200 and body(listed)[:2] == b"PK"
    assert approver.get(f"/arrangement/handovers/{handover_id}/package.zip").status_code == 403   # no dossiers
    assert approver.post("/arrangement/handovers/", {"year": YEAR, "receiver": "某馆"}).status_code == 403
    assert client_for("rea").get(f"/arrangement/handovers/{handover_id}/files/form.pdf").status_code == 403
    downloads = AccessEvent.objects.filter(kind=AccessEvent.HANDOVER_DOWNLOAD)
    assert downloads.filter(account="arc", target=f"{handover_id}/package").exists()
    assert downloads.filter(account="app", target=f"{handover_id}/移交清单.pdf").exists()

    for bad in (f"/arrangement/handovers/{handover_id}/files/plan.json",
                f"/arrangement/handovers/{handover_id}/files/..%2F..%2Fyuetan.toml",
                "/arrangement/handovers/..%2F..%2Fcatalog.sqlite/package.zip",
                f"/arrangement/handovers/YJ-{YEAR}-00000000000000000000/package.zip"):
        assert archivist.get(bad).status_code == 404, bad


def test_a_changed_handover_file_is_not_handed_out(web_home, built_case, client_for):
    """The ledger's hash is checked on the way out: a kept copy changed on disk is refused (422), not served. The
    core refuses a receiver with control characters whichever face calls it."""
    with pytest.raises(api.InvalidArgument, match="接收单位含有不允许的字符"):
        api.keep_handover(web_home, YEAR, actor=api.Actor(name="arc", role=api.Role.archivist), receiver="九江\x1b[2J馆")
    done = api.keep_handover(web_home, YEAR, actor=api.Actor(name="arc", role=api.Role.archivist),
                             receiver="九江市档案馆")
    kept = web_home.path / "handovers" / done.handover_id
    assert (kept / "移交清单.pdf").is_file() and (kept / "案卷目录.xlsx").is_file()
    assert client_for("app").get(f"/arrangement/handovers/{done.handover_id}/files/catalogue.xlsx").status_code == 200
    with open(kept / "案卷目录.xlsx", "ab") as f:
        f.write(b"\0")
    changed = client_for("app").get(f"/arrangement/handovers/{done.handover_id}/files/catalogue.xlsx")
    assert changed.status_code == 422 and "摘要不符" in changed.content.decode()
    assert not changed.streaming


def test_a_year_whose_dossiers_fail_verification_is_not_handed_over(web_home, client_for):
    """A stored test case has an unsealed one-page dossier: the handover names it and writes nothing."""
    from tests.stored_cases import store_case

    store_case(web_home, "WEBAR-2019-001", date(2019, 6, 28))
    before = {e.seq for e in handovers_of(web_home)}
    client = client_for("arc")
    response = client.post("/arrangement/handovers/", {"year": 2019, "receiver": "江西省档案馆"}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and "未编制 2019 年度移交" in html and "未通过核验" in html
    assert {e.seq for e in handovers_of(web_home)} == before
    assert not any(p.name.startswith("YJ-2019-") for p in (web_home.path / "handovers").glob("*"))
    bad = client.post("/arrangement/handovers/", {"year": 2019, "receiver": "江西\u202e档案馆"}, follow=True)
    assert "接收单位含有不允许的字符" in bad.content.decode() and "U+202E" in bad.content.decode()
