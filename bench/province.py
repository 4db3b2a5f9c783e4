"""Province bench: ingest with one node and with two nodes against the same PostgreSQL catalog and S3 bucket,
and search on a node that follows another.

    .venv/bin/python bench/province.py [--cases 8] [--queries 20]

Starts its own throw-away PostgreSQL 15 cluster and moto_server (tests/services.py). Each run ingests the same
synthetic cases (no scan) into fresh homes, so nothing is reused:
  baseline   one node, SQLite + local folder, -j 2   (the single-office default, measured in the same run)
  one node   one node, PostgreSQL + S3, -j 2
  two nodes  two nodes, PostgreSQL + S3, -j 2 each, each ingesting half the cases at the same time
Then on a second node that follows the first: the time to catch its index up with all the cases, the delay from
an ingest's commit on node 1 to the case being found on node 2 (follower ticking every second), and the search
latency on each node (p50/p95 over the queries). Prints medians and ratios to the baseline; figures measured on a
busy machine are only indicative.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive_store import ledger  # noqa: E402
from archive_store.home import DEFAULT_SETTINGS, SETTINGS_FILE  # noqa: E402
from pipeline.records.setup import init_home  # noqa: E402
from pipeline.search.follow import catch_up  # noqa: E402
from pipeline.search.index import indexed_case_ids, search  # noqa: E402
from tests.services import start_moto, start_postgres  # noqa: E402
from tests.synthetic import make_case_folders  # noqa: E402

YUETAN = ROOT / ".venv" / "bin" / "yuetan"
QUERIES = ["混凝土", "抗压强度检验报告", "超出资质认定证书", "留样记录", "计量溯源", "排放检验", "南昌", "九江",
           "赣州", "检测技术有限公司", "整改", "不实报告", "资质认定", "原始记录", "导热系数", "监督检查",
           "约谈", "质量检验", "工程检测", "环境检测"]


def homes(root: Path, name: str, n: int, extra: str, seal_from: Path | None = None) -> list:
    made = []
    for i in range(n):
        path = root / f"{name}-{i + 1}"
        path.mkdir(parents=True)
        (path / SETTINGS_FILE).write_text(DEFAULT_SETTINGS + extra, encoding="utf-8")
        source = seal_from or (made[0].path / "seal" if made else None)
        if source is not None:
            shutil.copytree(source, path / "seal")
        made.append(init_home(path, organizer="江西省市场监督管理局")[0])
    return made


def ingest_at_once(nodes: list, batches: list[list[Path]]) -> float:
    """Every node ingests its batch (a folder of cases) with -j 2 at the same time; wall seconds."""
    started = time.perf_counter()
    runs = [subprocess.Popen([str(YUETAN), "--home", str(node.path), "ingest", "-j", "2", "--json", "--actor", "bench",
                              *map(str, batch)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for node, batch in zip(nodes, batches)]
    for run in runs:
        out, err = run.communicate()
        failed = [line for line in out.splitlines() if line.strip() and json.loads(line)["status"] != "ingested"]
        if run.returncode or failed:
            raise SystemExit(f"ingest failed: {err[-2000:]} {failed[:1]}")
    return time.perf_counter() - started


def latencies(home, queries: list[str]) -> tuple[float, float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        search(home.index_dir, query, limit=10)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    cluster, moto = start_postgres(), start_moto()
    try:
        os.environ.update(moto.env())
        os.environ["YUETAN_CATALOG_PASSWORD"] = cluster.password
        with tempfile.TemporaryDirectory(prefix="yuetan-bench-province-") as tmp:
            root = Path(tmp)
            cases = make_case_folders(args.cases, root / "cases")
            half = len(cases) // 2

            def shared(name: str) -> str:
                cluster.create_database(name)
                bucket = moto.create_locked_bucket(name.replace("_", "-"))
                return (f'\n[catalog]\nurl = "{cluster.url(name)}"\n'
                        f'\n[store]\nkind = "s3"\nendpoint = "{moto.endpoint}"\nbucket = "{bucket}"\n'
                        'region = "us-east-1"\n')

            figures = {}
            [base] = homes(root, "baseline", 1, "")
            figures["baseline"] = ingest_at_once([base], [cases])
            one_settings = shared("yuetan_one")
            _migrate(root / "one-migrate", one_settings)
            [one] = homes(root, "one", 1, one_settings, seal_from=base.path / "seal")
            figures["one node"] = ingest_at_once([one], [cases])
            two_settings = shared("yuetan_two")
            _migrate(root / "two-migrate", two_settings)
            two = homes(root, "two", 2, two_settings, seal_from=base.path / "seal")
            figures["two nodes"] = ingest_at_once(two, [cases[:half], cases[half:]])
            for label, seconds in figures.items():
                print(f"{label:10s} {len(cases)} dossiers in {seconds:6.1f} s = {len(cases) / seconds * 60:5.1f}/min "
                      f"({figures['baseline'] / seconds:.2f}x the SQLite + local baseline)")

            # a third node joins the one-node archive and follows it
            [follower] = homes(root, "follower", 1, one_settings, seal_from=base.path / "seal")
            started = time.perf_counter()
            result = catch_up(follower)
            caught = time.perf_counter() - started
            print(f"follower: caught up with {result.indexed} cases in {caught:.1f} s "
                  f"({caught / max(1, result.indexed) * 1000:.0f} ms per case, from catalog and bucket)")
            delays = []
            run = subprocess.Popen([str(YUETAN), "--home", str(follower.path), "follow", "--interval", "1"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                extra = make_case_folders(3, root / "late", seed=99)
                for folder in extra:           # new case ids: the first cases' ids are taken
                    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
                    case["case_id"] += "-LATE"
                    case["notice"]["number"] = case["notice"]["number"].replace("〕", "〕9")
                    (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
                    case_id = json.loads((folder / "case.json").read_text(encoding="utf-8"))["case_id"]
                    run_ingest = subprocess.Popen([str(YUETAN), "--home", str(one.path), "ingest", "--actor", "bench",
                                                   str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    while case_id not in indexed_case_ids(follower.index_dir):
                        if run_ingest.poll() not in (None, 0):
                            raise SystemExit(f"ingest of {case_id} failed")
                        time.sleep(0.05)
                    found = datetime.now(timezone.utc)
                    run_ingest.wait()
                    with one.catalog() as catalog:      # the commit's time: its ledger entry (to the second)
                        stored = next(e for e in ledger.entries(catalog, case_id) if e.action == "ingest")
                    delays.append((found - datetime.fromisoformat(stored.at)).total_seconds())
            finally:
                run.terminate()
                run.wait()
            print(f"found on the following node {statistics.median(delays):.1f} s (median of {len(delays)}; "
                  "from the ledger entry's time, to the second) after the commit on node 1 (follower ticks every 1 s)")
            queries = (QUERIES * ((args.queries // len(QUERIES)) + 1))[:args.queries]
            for label, home in (("node 1", one), ("follower", follower)):
                p50, p95 = latencies(home, queries)
                print(f"search on {label:8s}: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(queries)} queries")
    finally:
        moto.stop()
        cluster.stop()


def _migrate(path: Path, settings: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / SETTINGS_FILE).write_text(DEFAULT_SETTINGS + settings, encoding="utf-8")
    subprocess.run([str(YUETAN), "--home", str(path), "migrate"], check=True, capture_output=True)


if __name__ == "__main__":
    main()
