"""检索 and 案件 through the test client: the search page with filters, highlights and paging in the URL, the JSON
API equal to the command line's --json, the case page, the dossier served by catalog lookup only, the page viewer,
核验, the access log of every read, and path-traversal URLs refused."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.web.accounts.models import AccessEvent

YUETAN = str(Path(sys.executable).with_name("yuetan"))


def cli_json(home, *args) -> dict:
    out = subprocess.run([YUETAN, "--home", str(home.path), *args, "--json"], capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)


def test_search_page_filters_highlights_and_keeps_the_query_in_the_url(stored_cases, client_for):
    client = client_for("rea")
    page = client.get("/search/", {"q": "数据失实", "region": "3604"})
    html = page.content.decode()
    assert page.status_code == 200
    assert stored_cases["other"] in html and stored_cases["recent"] not in html      # the region filter
    assert "<mark>数据失实</mark>" in html
    assert 'name="q" value="数据失实"' in html and 'name="region" value="3604"' in html
    everything = client.get("/search/", {"q": "数据失实"}).content.decode()
    assert stored_cases["recent"] in everything and stored_cases["other"] in everything
    assert AccessEvent.objects.filter(account="rea", kind=AccessEvent.SEARCH, target="数据失实").count() >= 2


def test_bad_filters_are_refused_in_chinese(client_for):
    client = client_for("rea")
    page = client.get("/search/", {"q": "x", "from": "2025-13-01"})
    assert page.status_code == 400 and "YYYY-MM-DD" in page.content.decode()
    api = client.get("/api/search", {"kind": "nobody"})
    assert api.status_code == 400 and "约谈对象" in api.json()["error"]


def test_api_search_and_case_are_what_the_command_line_prints(web_home, stored_cases, client_for):
    client = client_for("rea")
    api = client.get("/api/search", {"q": "数据失实", "limit": "2"}).json()
    cli = cli_json(web_home, "search", "数据失实", "--limit", "2")
    assert api["total"] == cli["total"] and api["hits"] == cli["hits"]
    assert len(api["hits"]) == 2
    second = client.get("/api/search", {"q": "数据失实", "limit": "2", "page": "2"}).json()
    assert second["total"] == api["total"] >= 3 and len(second["hits"]) == min(2, api["total"] - 2)
    case = client.get(f"/api/cases/{stored_cases['recent']}").json()
    assert case == cli_json(web_home, "show", stored_cases["recent"])
    by_number = client.get(f"/api/cases/{case['record']['notice_number']}").json()
    assert by_number["record"]["case_id"] == stored_cases["recent"]
    assert client.get("/api/cases/NO-SUCH-CASE").status_code == 404


def test_case_page_shows_the_record_findings_versions_and_ledger(stored_cases, client_for):
    client = client_for("rea")
    page = client.get(f"/cases/{stored_cases['recent']}/")
    html = page.content.decode()
    assert page.status_code == 200
    for text in ("第十三条", "约谈通知书送达不足3个工作日", "served_on", "第六条第（二）项", "江西省市场监督管理局",
                 "第 1 版", "台账记录", "查看案卷", "核验"):
        assert text in html, text
    # Its retention (closed 2025-03-31, six years), as the retention list reckons it.
    assert "6 年，保管至 2031-12-31，2032-01-01 起可销毁" in html
    assert AccessEvent.objects.filter(account="rea", kind=AccessEvent.CASE_VIEW,
                                      target=stored_cases["recent"]).exists()
    approver = client_for("app").get(f"/cases/{stored_cases['recent']}/").content.decode()
    assert "查看案卷" not in approver          # the approver reads the record, not the dossier


def test_the_dossier_is_served_by_catalog_lookup_with_its_hash(web_home, stored_cases, client_for):
    with web_home.catalog() as catalog:
        record = catalog.current(stored_cases["recent"])
    response = client_for("rea").get(f"/cases/{record.case_id}/dossier.pdf")
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert hashlib.sha256(body).hexdigest() == record.dossier_sha256
    event = AccessEvent.objects.filter(account="rea", kind=AccessEvent.DOSSIER_DOWNLOAD).latest("id")
    assert event.target == record.case_id and event.details["dossier_sha256"] == record.dossier_sha256
    assert client_for("app").get(f"/cases/{record.case_id}/dossier.pdf").status_code == 403


@pytest.mark.parametrize("url", [
    "/cases/..%2F..%2Fcatalog.sqlite/dossier.pdf", "/cases/%2e%2e/dossier.pdf", "/cases/../yuetan.toml",
    "/cases/..%2Fweb%2Fsecret-key/dossier.pdf", "/static/../yuetan.toml", "/static/%2e%2e/%2e%2e/yuetan.toml",
    "/cases/WEB-2025-002%00/dossier.pdf", "/api/cases/..%2F..%2Fetc%2Fpasswd",
])
def test_path_traversal_urls_find_nothing(stored_cases, client_for, url):
    response = client_for("rea").get(url)
    assert response.status_code in (400, 404), (url, response.status_code)
    body = response.content if not response.streaming else b"".join(response.streaming_content)
    assert b"secret" not in body.lower() and b"[documents]" not in body and b"SQLite" not in body


def test_viewer_shows_pages_as_images(stored_cases, client_for):
    client = client_for("rea")
    viewer = client.get(f"/cases/{stored_cases['recent']}/viewer/", {"page": "1"})
    assert viewer.status_code == 200 and f"/cases/{stored_cases['recent']}/pages/1.png" in viewer.content.decode()
    image = client.get(f"/cases/{stored_cases['recent']}/pages/1.png")
    assert image.status_code == 200 and image["Content-Type"] == "image/png" and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/cases/{stored_cases['recent']}/pages/999.png").status_code == 404


def test_verify_shows_every_check(stored_cases, client_for):
    """The stored test dossier is an unsealed one-page PDF: 核验 names what fails, without crashing."""
    response = client_for("rea").post(f"/cases/{stored_cases['recent']}/verify")
    html = response.content.decode()
    assert response.status_code == 200 and "✗ 案卷核验未通过" in html and 'class="bad"' in html
