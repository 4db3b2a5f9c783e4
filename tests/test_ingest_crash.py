"""Ingest killed with SIGKILL again and again: the archive stays sound and every case lands exactly once."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess

import pytest

from archive_store import ledger
from pipeline.records.audit import audit_archive
from pipeline.records.setup import init_home
from pipeline.search.index import search

from .conftest import ROOT
from .synthetic import make_case_folders

pytestmark = pytest.mark.slow     # 22 ingest runs, each building dossiers

YUETAN = ROOT / ".venv" / "bin" / "yuetan"
CRASH_POINTS = ["after_build", "after_blobs", "after_catalog", "after_index"]
RUNS = 22


def start_ingest(home, cases, crash_at: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "YUETAN_CRASH_AT"}
    if crash_at:
        env["YUETAN_CRASH_AT"] = crash_at
    return subprocess.Popen([str(YUETAN), "--home", str(home.path), "ingest", "--json", "--actor", "测试", str(cases)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def assert_sound(home, case_ids: list[str]) -> None:
    """What must hold after any crash: audit clean, no case twice, one ledger entry per stored version."""
    report = audit_archive(home)
    assert report.ok, report.problems
    with home.catalog() as catalog:
        stored = catalog.all_cases()
        ingests = [e.case_id for e in ledger.entries(catalog) if e.action == "ingest"]
    assert sorted(r.case_id for r in stored) == sorted(set(r.case_id for r in stored))
    assert sorted(ingests) == sorted(r.case_id for r in stored)
    assert set(ingests) <= set(case_ids)


def test_ingest_killed_at_random_points(prepare_home, tmp_path):
    folders = make_case_folders(10, tmp_path / "cases", seed=11)
    case_ids = [f.name for f in folders]
    home, _ = init_home(prepare_home(tmp_path / "home"))
    rng = random.Random(1125)
    how_killed = []
    for run in range(RUNS):
        if run % 2 == 0:
            point = CRASH_POINTS[(run // 2) % len(CRASH_POINTS)]
            proc = start_ingest(home, tmp_path / "cases", crash_at=point)
            proc.communicate(timeout=300)
            how_killed.append((point, proc.returncode))
        else:
            proc = start_ingest(home, tmp_path / "cases")
            delay = rng.uniform(0.5, 3.5)      # a case takes about a second: later kills would find the work done
            try:
                proc.communicate(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
            how_killed.append((f"kill -9 after {delay:.1f} s", proc.returncode))
        assert_sound(home, case_ids)
    assert sum(code == -signal.SIGKILL for _, code in how_killed) >= 15, "; ".join(f"{h} {c}" for h, c in how_killed)

    final = start_ingest(home, tmp_path / "cases")
    out, err = final.communicate(timeout=600)
    assert final.returncode == 0, err.decode()
    statuses = [json.loads(line)["status"] for line in out.decode().splitlines()]
    assert len(statuses) == len(case_ids) and set(statuses) <= {"ingested", "unchanged", "completed"}

    assert_sound(home, case_ids)
    report = audit_archive(home)
    assert report.pending == [] or all("未被任何案件引用" in p for p in report.pending), report.pending
    with home.catalog() as catalog:
        for case_id in case_ids:
            versions = catalog.versions(case_id)
            assert [(v.version, v.status) for v in versions] == [(1, "current")]
            assert versions[0].indexed_at is not None
            assert [e.action for e in ledger.entries(catalog, case_id)] == ["ingest"]
            assert search(home.index_dir, versions[0].notice_number).hits[0].case_id == case_id
    assert list(home.staging_dir.iterdir()) == []
