"""保管与销毁 and 导出 through the test client: holds by page and by /api/holds, /api/retention equal to the
command line, the destruction plan walked by different people (the drafter refused as approver, two witnesses
other than the approver), an export granted to one inspector."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from pipeline import api
from pipeline.web.accounts.models import AccessEvent

YUETAN = str(Path(sys.executable).with_name("yuetan"))


def test_holds_and_retention(web_home, stored_cases, client_for):
    client = client_for("arc")
    case = stored_cases["other"]
    response = client.post("/keeping/holds", {"case": case, "reason": "行政复议中", "action": "hold"})
    assert response.status_code == 302
    page = client.get(f"/keeping/?case={case}").content.decode()
    assert "冻结中" in page and "行政复议中" in page
    api_release = client.post("/api/holds", json.dumps({"case": case, "reason": "复议终结", "action": "release"}),
                              content_type="application/json")
    assert api_release.status_code == 201 and api_release.json()["action"] == "release"
    assert api_release.json()["actor"] == "arc" and api_release.json()["role"] == "archivist"
    assert client_for("rea").post("/api/holds", {"case": case, "reason": "x"}).status_code == 403
    assert client.post("/api/holds", {"case": case}).status_code == 400
    retention = client_for("app").get("/api/retention").json()
    cli = json.loads(subprocess.run([YUETAN, "--home", str(web_home.path), "retention", "--json"],
                                    capture_output=True, text=True, check=True).stdout)
    assert retention == cli


def test_a_destruction_plan_walked_by_different_people(web_home, stored_cases, client_for):
    from tests.stored_cases import store_case

    # a due case of this test's own: the session's archive is shared, and a walk may have destroyed the others
    code = store_case(web_home, "KEEP-2016-001", date(2016, 5, 31)).archival_code
    drafted = client_for("both").post("/keeping/plans/")
    assert drafted.status_code == 302 and "/keeping/plans/" in drafted["Location"]
    plan_url = drafted["Location"]
    plan_id = plan_url.rstrip("/").split("/")[-1]
    page = client_for("both").get(plan_url).content.decode()
    assert "KEEP-2016-001" in page and "批准销毁" not in page          # the drafter gets no approve button
    assert f'<td class="code">{code}</td>' in page                      # the case named by its 档号
    refused = client_for("both").post(plan_url + "review", {"decision": "approve", "reason": "同意"})
    assert refused.status_code == 403 and "不能审批自己编制的清册" in refused.content.decode()
    assert client_for("app").post(plan_url + "review", {"decision": "approve", "reason": "经鉴定同意"}).status_code == 302
    assert client_for("app").post(plan_url + "witness").status_code == 403         # the approver never witnesses
    assert client_for("arc2").post(plan_url + "execute").status_code == 409        # not yet witnessed
    assert client_for("arc2").post(plan_url + "witness").status_code == 302
    assert client_for("arc2").post(plan_url + "witness").status_code == 409        # the same witness twice
    assert client_for("app2").post(plan_url + "witness").status_code == 302
    assert client_for("arc").post(plan_url + "execute").status_code == 302
    state = api.approvals.plan_state(web_home, plan_id, actor=api.Actor(name="t", role="auditor"))
    assert state.state == "executed" and state.approver == "app" and state.witnesses == ["arc2", "app2"]
    tombstone = client_for("rea").get("/cases/KEEP-2016-001/").content.decode()
    assert "已销毁" in tombstone and f'<span class="code archival-code">{code}</span>' in tombstone
    listing = client_for("app").get(f"/keeping/plans/{plan_id}/files/销毁清册.xlsx")
    assert listing.status_code == 200 and b"".join(listing.streaming_content)[:2] == b"PK"
    assert client_for("app").get(f"/keeping/plans/{plan_id}/files/..%2F..%2Fyuetan.toml").status_code == 404
    assert AccessEvent.objects.filter(kind=AccessEvent.PLAN_DOWNLOAD, account="app").exists()


def test_an_export_for_one_inspector(web_home, stored_cases, client_for):
    until = (date.today() + timedelta(days=7)).isoformat()
    auditor = api.Actor(name="t", role="auditor")
    before = {e.export_id for e in api.approvals.exports(web_home, actor=auditor)}   # the session's archive is shared
    prepared = client_for("arc").post("/exports/prepare", {"q": "", "kind": "institution", "grantee": "ins",
                                                          "until": until})
    assert prepared.status_code == 302
    [export] = [e for e in api.approvals.exports(web_home, actor=auditor) if e.export_id not in before]
    assert export.grantee == "ins" and export.state == "awaiting"
    mine = client_for("ins").get("/exports/mine/").content.decode()
    assert export.export_id in mine and f"/exports/{export.export_id}/download" not in mine
    assert client_for("ins").get(f"/exports/{export.export_id}/download").status_code == 403
    assert client_for("app").post(f"/exports/{export.export_id}/review",
                                  {"decision": "approve", "reason": "同意"}).status_code == 302
    download = client_for("ins").get(f"/exports/{export.export_id}/download")
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"
    assert client_for("rea").get(f"/exports/{export.export_id}/download").status_code == 403
    assert client_for("ins").get("/exports/EXP-NOPE/download").status_code == 404
