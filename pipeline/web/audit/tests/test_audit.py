"""审计: the auditor reads the ledger (with its chain status), the access log and runs the archive's audit; no one
else does, and the access log cannot be edited."""
from __future__ import annotations

import pytest
from django.db import DatabaseError

from pipeline.web.accounts.models import AccessEvent


def test_the_auditor_reads_the_ledger_with_its_chain_status(stored_cases, client_for):
    client = client_for("aud")
    page = client.get("/audit/", {"case": stored_cases["recent"]})
    html = page.content.decode()
    assert page.status_code == 200 and "✓ 完整" in html and stored_cases["recent"] in html and "入库" in html
    assert stored_cases["old"] not in html
    # Filters combine: the recent case is never destroyed (a walk in the same worker may destroy the old one).
    filtered = client.get("/audit/", {"case": stored_cases["recent"], "action": "purge"}).content.decode()
    assert "没有符合条件的台账记录" in filtered
    assert client.get("/audit/", {"on_from": "not-a-date"}).status_code == 400


def test_the_auditor_reads_the_access_log(stored_cases, client_for):
    client_for("rea").get(f"/cases/{stored_cases['old']}/")
    page = client_for("aud").get("/audit/access/", {"account": "rea", "kind": "case_view"})
    html = page.content.decode()
    assert page.status_code == 200 and "查看案件" in html and stored_cases["old"] in html
    for other in ("rea", "arc", "app", "sys", "sec", "ins"):
        assert client_for(other).get("/audit/access/").status_code == 403


def test_the_access_log_cannot_be_changed_or_deleted(client_for):
    client_for("rea").get("/search/", {"q": "不可改"})
    event = AccessEvent.objects.filter(kind=AccessEvent.SEARCH, target="不可改").latest("id")
    with pytest.raises(DatabaseError, match="只能追加"):
        AccessEvent.objects.filter(pk=event.pk).update(account="someone-else")
    with pytest.raises(DatabaseError, match="只能追加"):
        AccessEvent.objects.filter(pk=event.pk).delete()


def test_the_auditor_runs_the_archive_audit(stored_cases, client_for):
    response = client_for("aud").post("/audit/check/run")
    html = response.content.decode()
    assert response.status_code == 200 and "件现行案件" in html and "台账" in html
