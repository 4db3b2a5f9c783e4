"""Web bench: an archive of N synthetic cases (the search bench's generator), `yuetan serve` on loopback, and the
time of search pages and case pages as a logged-in reader's browser asks for them (p50/p95 over every request).

    .venv/bin/python bench/web.py [--cases 10000] [--repeats 5] [--case-pages 200] [--dir DIR] [--seed 7]

Targets (issue 12): search pages p95 <= 300 ms, case pages p95 <= 200 ms at 10,000 cases. The archive's catalog
rows (case, documents, findings, an ingest ledger entry) and index are written directly (no dossiers are built:
the pages measured do not read them). Requests go one at a time to 127.0.0.1 only, bounded in number.
"""
from __future__ import annotations

import argparse
import hashlib
import http.cookiejar
import importlib.util
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive_store import ledger  # noqa: E402
from archive_store.actors import Actor, Role  # noqa: E402
from archive_store.catalog import CaseRecord, DocumentRow, FindingRow  # noqa: E402
from archive_store.schema import cases as CASES  # noqa: E402
from sqlalchemy import update  # noqa: E402
from pipeline import api  # noqa: E402
from pipeline.search import index  # noqa: E402

PASSWORD = "bench-口令-足够长-2026"
SEARCHES = [("数据失实", {}), ("超范围", {}), ("整改到位", {}), ("原始记录", {}), ("能力验证", {}),
            ("机动车 排放", {}), ("投诉举报 查证属实", {}), ("留样记录缺失", {}), ("检测技术", {"region": "360700"}),
            ("约谈", {"kind": "bureau"}), ("超范围", {"ground": "6.3"}), ("", {"outcome": "administrative_penalty"}),
            ("现场复查", {"from": "2023-01-01", "to": "2023-12-31"})]


def synthetic_documents(n: int, seed: int):
    """The search bench's generator (bench/search.py), loaded as a module."""
    spec = importlib.util.spec_from_file_location("search_bench", ROOT / "bench" / "search.py")
    module = importlib.util.module_from_spec(spec)
    import pipeline
    pipeline.index = index            # the search bench still names the index module by its old place
    spec.loader.exec_module(module)
    return module.synthetic_documents(n, seed)


def build_archive(home_dir: Path, n: int, seed: int) -> tuple[api.ArchiveHome, list]:
    return store_archive(home_dir, list(synthetic_documents(n, seed)))


def store_archive(home_dir: Path, docs: list) -> tuple[api.ArchiveHome, list]:
    """A new archive home whose catalog (case rows, documents, findings, ingest ledger entries) and index hold
    `docs` (index documents), without dossiers."""
    api.init(home_dir, actor=Actor(name="bench", role=Role.console))
    home = api.open_archive(home_dir)
    actor = Actor(name="bench", role=Role.archivist)
    with home.catalog() as catalog, catalog.transaction() as tx:
        for d in docs:
            fake = hashlib.sha256(d.case_id.encode()).hexdigest()
            record = CaseRecord(
                case_id=d.case_id, content_sha256=fake, notice_number=d.notice_number, title=f"{d.target}约谈案卷",
                target_name=d.target, target_kind=d.target_kind, credit_code=d.credit_code, organizer=d.organizer,
                organizer_level="province", region_code=d.region_code, grounds=list(d.grounds), outcome=d.outcome,
                interview_on=d.interview_on, closed_on=d.closed_on,
                archived_at=datetime(d.closed_on.year, d.closed_on.month, d.closed_on.day, tzinfo=timezone.utc),
                dossier_sha256=fake, manifest_sha256=d.manifest_sha256, page_count=30, case_json_sha256=fake,
                manifest_json_sha256=fake)
            documents = [DocumentRow(seq=i, role="rendered_pdf", name=f"{title}.pdf", media_type="application/pdf",
                                     size=100_000, sha256=hashlib.sha256(f"{d.case_id}{i}".encode()).hexdigest(),
                                     title=title, document=key)
                         for i, (key, title) in enumerate([("notice", "约谈通知书"), ("record", "约谈记录"),
                                                           ("attachments[0]", "整改方案")], start=1)]
            findings = [FindingRow(code=line.split(" ")[0], article=line.split(" ")[1], severity="violation",
                                   message=" ".join(line.split(" ")[2:]), evidence={"case": d.case_id})
                        for line in d.findings.splitlines() if line.count(" ") >= 2]
            version = catalog.record_case(tx, record, documents, findings)
            ledger.append(tx, action="ingest", actor=actor, case_id=d.case_id,
                          details={"version": version, "manifest_sha256": d.manifest_sha256})
    index.rebuild(home.index_dir, docs)
    with home.catalog() as catalog, catalog.transaction() as tx:
        tx.conn.execute(update(CASES).values(indexed_at=CASES.c.archived_at))
    return home, docs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_in(base: str, name: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(base + "/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"username": name, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    opener.open(urllib.request.Request(base + "/login/", data=data, headers={"Referer": base + "/login/"}))
    return opener


def timed(opener, url: str) -> float:
    t0 = time.perf_counter()
    with opener.open(url, timeout=60) as response:
        response.read()
        assert response.status == 200, url
    return time.perf_counter() - t0


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--case-pages", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=None, help="where to build (default: a temp folder, removed)")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="yuetan-bench-web-"))
    server = None
    try:
        t0 = time.perf_counter()
        home, docs = build_archive(work / "home", args.cases, args.seed)
        print(f"档案库：{len(docs)} 个合成案件（目录、台账、索引），{time.perf_counter() - t0:.0f} s")
        yuetan = str(Path(sys.executable).with_name("yuetan"))
        pw = work / "pw"
        pw.write_text(PASSWORD + "\n", encoding="utf-8")
        subprocess.run([yuetan, "--home", str(home.path), "user", "add", "bench-reader", "--role", "reader",
                        "--password-file", str(pw)], check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([yuetan, "--home", str(home.path), "serve", "--port", str(port), "--workers", "2"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/login/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        opener = log_in(base, "bench-reader")
        for warm in ("热身", "检验", "报告", "整改"):            # every worker loads the dictionary once
            timed(opener, base + "/search/?" + urllib.parse.urlencode({"q": warm}))
        search_times: list[float] = []
        print(f"\n{'检索页':<40} {'p50 ms':>8} {'max ms':>8}")
        for q, filters in SEARCHES:
            url = base + "/search/?" + urllib.parse.urlencode({"q": q, **filters})
            times = [timed(opener, url) for _ in range(args.repeats)]
            search_times += times
            label = q + (" " + urllib.parse.urlencode(filters) if filters else "")
            print(f"{label:<40} {statistics.median(times) * 1000:8.1f} {max(times) * 1000:8.1f}")
        rng = random.Random(args.seed)
        picks = rng.sample(docs, min(args.case_pages, len(docs)))
        case_times = [timed(opener, base + "/cases/" + urllib.parse.quote(d.case_id) + "/") for d in picks]
        print(f"\n检索页 {len(search_times)} 次：p50 {statistics.median(search_times) * 1000:.0f} ms，"
              f"p95 {p95(search_times) * 1000:.0f} ms（目标 ≤ 300 ms）")
        print(f"案件页 {len(case_times)} 次：p50 {statistics.median(case_times) * 1000:.0f} ms，"
              f"p95 {p95(case_times) * 1000:.0f} ms（目标 ≤ 200 ms）")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
