"""Ingest throughput: dossiers per minute with -j 1 (the baseline) and -j 2, on the same synthetic cases.

    .venv/bin/python bench/ingest.py [--cases 6] [--with-scan]

Each run ingests into a fresh archive home (so nothing is reused), with a LibreOffice converter per worker;
the figure includes start-up, rendering, conversion, OCR of the uploads, assembly, sealing, storing and indexing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive_store.actors import Actor, Role  # noqa: E402
from pipeline.records.ingest import ingest_cases  # noqa: E402
from pipeline.records.setup import init_home  # noqa: E402
from tests.synthetic import make_case_folders  # noqa: E402


def run(cases: list[Path], jobs: int, root: Path) -> tuple[float, list[float]]:
    home, _ = init_home(root / f"home-j{jobs}")
    per_case: list[float] = []
    started = time.perf_counter()
    last = [started]

    def seen(_result):
        now = time.perf_counter()
        per_case.append(now - last[0])
        last[0] = now

    results = ingest_cases(cases, home=home, actor=Actor(name="bench", role=Role.console), jobs=jobs, on_result=seen)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.failed]
    if failed:
        raise SystemExit(f"{len(failed)} cases failed: {failed[0].message}")
    return elapsed, per_case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=6)
    parser.add_argument("--with-scan", action="store_true", help="keep the JPEG scan (OCR of an image page)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yuetan-bench-ingest-") as tmp:
        root = Path(tmp)
        cases = make_case_folders(args.cases, root / "cases", with_scan=args.with_scan)
        figures = {}
        for jobs in (1, 2):
            elapsed, per_case = run(cases, jobs, root)
            figures[jobs] = elapsed
            print(f"-j {jobs}: {len(cases)} dossiers in {elapsed:.1f} s = {len(cases) / elapsed * 60:.1f} dossiers/min "
                  f"(median interval between finished dossiers {statistics.median(per_case):.2f} s)")
        print(f"-j 2 / -j 1 throughput ratio: {figures[1] / figures[2]:.2f}x")


if __name__ == "__main__":
    main()
