"""Two ingests of the same case at once (issue 17, item 5): one stores it, the other waits and finds it stored."""
from __future__ import annotations

import json
import subprocess

from archive_store import ledger

from .conftest import EXAMPLES
from .test_cli import YUETAN, yuetan


def test_two_ingests_of_one_case_at_once_store_it_once_and_both_report_what_is_stored(new_home, tmp_path):
    home = new_home(tmp_path / "home")
    args = [str(YUETAN), "--home", str(home.path), "ingest", "--json", str(EXAMPLES / "bureau-video")]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    results = [json.loads(out) for out, _ in outputs]
    assert sorted(r["status"] for r in results) == ["ingested", "unchanged"]
    with home.catalog() as catalog:
        record = catalog.current(results[0]["case_id"])
        assert [e.action for e in ledger.entries(catalog)] == ["ingest"]
    assert {r["dossier_sha256"] for r in results} == {record.dossier_sha256}
    assert {r["notice_number"] for r in results} == {record.notice_number}
    audit = yuetan("--home", str(home.path), "audit", "--json")
    assert audit.returncode == 0, audit.stdout
    assert json.loads(audit.stdout)["pending"] == []
