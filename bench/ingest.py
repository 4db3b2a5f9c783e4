"""Ingest speed: a naive pipeline and yuetan (-j 1, -j 2) on the same synthetic cases, in one run.

    .venv/bin/python bench/ingest.py [--cases 30] [--naive-cases 30] [--json]

The cases are shaped like the three bundled examples in turn (tests/synthetic.make_example_shaped_cases): two text
PDFs and a scanned page; a DOCX and a text PDF; a text PDF and a screenshot. Every upload differs from every other,
so nothing comes from the normalisation cache, and each run ingests into a fresh archive home.

The naive pipeline does per case what the tools do when called one file at a time: the case's two documents
rendered (docxtpl) and five one-page documents converted by a cold `soffice --convert-to pdf` each (notice, record,
cover, file list, 备考表), and each upload through a new `ocrmypdf` process (PDF/A output) or, for a DOCX, a cold
soffice. It neither checks, assembles, seals nor stores: it is the floor of the obvious way, not an archive.

Each configuration runs in a process of its own, so its peak RSS (ru_maxrss of that process: the ingest process,
not LibreOffice or the OCR jobs it starts) is its own. Printed: seconds per dossier (wall time / cases), the
ratio to the naive pipeline, the median per case, peak RSS, and the stage table of each yuetan run (median row).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"j2_s": 1.2, "j1_s": 2.0, "ratio_j2": 4.8, "rss_mb": 500}


def yuetan(cases: list[Path], jobs: int, root: Path) -> dict:
    from archive_store.actors import Actor, Role
    from archive_store.clock import stage_table
    from pipeline.records.ingest import ingest_cases
    from pipeline.records.setup import init_home

    home, _ = init_home(root / f"home-j{jobs}")
    started = time.perf_counter()
    results = ingest_cases(cases, home=home, actor=Actor(name="bench", role=Role.console), jobs=jobs)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.failed]
    if failed:
        raise SystemExit(f"{len(failed)} cases failed: {failed[0].message}")
    rows = [(r.case_id, r.stages) for r in results]
    return {"name": f"yuetan -j {jobs}", "cases": len(cases), "wall_s": elapsed,
            "per_case_median_s": statistics.median(r.stages["wall"] for r in results),
            "stage_medians": {k: statistics.median(r.stages.get(k, 0.0) for r in results)
                              for k in sorted({k for r in results for k in r.stages})},
            "stage_table": stage_table(rows)[:1] + stage_table(rows)[-1:]}


def naive(cases: list[Path], root: Path) -> dict:
    from archive_store.home import DocumentFontNames as DocumentFonts
    from pipeline.case.intake import open_case
    from pipeline.documents import render

    soffice = shutil.which("soffice")
    per_case = []
    started = time.perf_counter()
    for n, folder in enumerate(cases):
        case_started = time.perf_counter()
        work = root / f"naive-{n}"
        work.mkdir()
        with open_case(folder) as bundle:
            case = bundle.case
            number = case.notice.number or "赣市监检约〔2025〕1号"
            docs = [render.render_notice(case, number, work, fonts=DocumentFonts()),
                    render.render_record(case, number, work, fonts=DocumentFonts())]
            for i, title in enumerate(("cover", "file_list", "remarks")):    # three more one-page documents
                docs.append(shutil.copyfile(docs[i % 2], work / f"{title}.docx"))
            for i, docx in enumerate(docs + [a.path for a in bundle.attachments if a.path.suffix == ".docx"]):
                subprocess.run([soffice, f"-env:UserInstallation={(work / f'profile-{i}').as_uri()}", "--headless",
                                "--norestore", "--convert-to", "pdf", "--outdir", str(work / "pdf"), str(docx)],
                               check=True, capture_output=True)
            for i, a in enumerate(a for a in bundle.attachments if a.path.suffix != ".docx"):
                cmd = [sys.executable, "-m", "ocrmypdf", "--language", "chi_sim+eng", "--skip-text", "--jobs", "1"]
                if a.path.suffix != ".pdf":
                    cmd += ["--image-dpi", "150"]
                subprocess.run([*cmd, str(a.path), str(work / f"upload-{i}.pdf")], check=True, capture_output=True)
        per_case.append(time.perf_counter() - case_started)
    return {"name": "naive", "cases": len(cases), "wall_s": time.perf_counter() - started,
            "per_case_median_s": statistics.median(per_case)}


def measure(which: str, cases_dir: Path, count: int, work: Path) -> dict:
    """One configuration, in this process; adds its peak RSS."""
    cases = sorted(p for p in cases_dir.iterdir() if p.is_dir())[:count]
    figures = naive(cases, work) if which == "naive" else yuetan(cases, int(which[1:]), work)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["per_dossier_s"] = figures["wall_s"] / figures["cases"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--naive-cases", type=int, default=None,
                        help="cases for the naive pipeline (default: all; its seconds per dossier hardly vary)")
    parser.add_argument("--json", action="store_true", help="one JSON object per configuration")
    parser.add_argument("--one", help=argparse.SUPPRESS)          # naive | j1 | j2, in a child process
    parser.add_argument("--cases-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory(prefix="yuetan-bench-ingest-run-") as tmp:
            print(json.dumps(measure(args.one, args.cases_dir, args.cases, Path(tmp)), ensure_ascii=False))
        return
    from tests.synthetic import make_example_shaped_cases

    with tempfile.TemporaryDirectory(prefix="yuetan-bench-ingest-") as tmp:
        cases_dir = Path(tmp) / "cases"
        make_example_shaped_cases(args.cases, cases_dir)
        runs = {}
        for which, count in (("naive", args.naive_cases or args.cases), ("j1", args.cases), ("j2", args.cases)):
            done = subprocess.run([sys.executable, __file__, "--one", which, "--cases-dir", str(cases_dir),
                                   "--cases", str(count)], capture_output=True, text=True, env=os.environ)
            if done.returncode != 0:
                raise SystemExit(f"{which} failed:\n{done.stderr[-2000:]}")
            runs[which] = json.loads(done.stdout.strip().splitlines()[-1])
    base = runs["naive"]["per_dossier_s"]
    for which, r in runs.items():
        r["ratio_to_naive"] = base / r["per_dossier_s"]
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        print(f"{r['name']:<12} {r['cases']} cases: {r['per_dossier_s']:.2f} s per dossier "
              f"(wall {r['wall_s']:.1f} s; median per case {r['per_case_median_s']:.2f} s), "
              f"{r['ratio_to_naive']:.2f}x naive, peak RSS {r['peak_rss_mb']:.0f} MB")
    if not args.json:
        for which in ("j1", "j2"):
            print(f"\nstage table, {runs[which]['name']} (seconds per case; stages overlap, so they may add up to "
                  "more than the wall time):")
            print("\n".join(runs[which]["stage_table"]))
        j1, j2 = runs["j1"], runs["j2"]
        print(f"\ntargets: -j 2 {j2['per_dossier_s']:.2f} s (≤ {TARGETS['j2_s']}), "
              f"-j 1 {j1['per_dossier_s']:.2f} s (≤ {TARGETS['j1_s']}), "
              f"-j 2 {j2['ratio_to_naive']:.2f}x naive (≥ {TARGETS['ratio_j2']}), "
              f"peak RSS {max(j1['peak_rss_mb'], j2['peak_rss_mb']):.0f} MB (≤ {TARGETS['rss_mb']})")


if __name__ == "__main__":
    main()
