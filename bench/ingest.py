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

Floors: after the -j 1 run, in the same process, the bare tools are timed on the inputs that run stored
(`--floor-cases` of its cases, one at a time, nothing else of ours running): LibreOffice's own export of the
dossier's rendered DOCX (convert); Tesseract alone, as OCRmyPDF calls it (hOCR + text, chi_sim+eng, one thread, the
image's DPI), on each scanned upload, and LibreOffice's export of each DOCX upload (normalise/OCR); pikepdf's PDF/A
validator (with our Type 1 reading, pipeline/pdf/type1.py, as the check runs it) and libqpdf's syntax check
(pikepdf's `check_pdf_syntax`: the checks of `qpdf --check`) on the sealed dossier (PDF/A check); one pdftotext over
the dossier and the stored files written and fsynced once each (store). The stage table then has a floor column and "ours" (the stage's
median minus its floor), and a line says whether the targets are reachable on the floors alone and which tool's
floor stops them.
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


def yuetan(cases: list[Path], jobs: int, root: Path, floor_cases: int = 0) -> dict:
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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # before the floors are measured
    floors = measure_floors(home, [r.case_id for r in results[:floor_cases]], root / "floors") if floor_cases else {}
    return {"name": f"yuetan -j {jobs}", "cases": len(cases), "wall_s": elapsed, "peak_rss_mb": peak, **floors,
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


# --- the tools' floors -------------------------------------------------------------------------------------------

FLOOR_TOOLS = {"convert": "LibreOffice", "normalise": "Tesseract (+ LibreOffice for DOCX uploads)",
               "check": "pikepdf PDF/A validator + libqpdf syntax check", "store": "pdftotext + fsync"}


def measure_floors(home, case_ids: list[str], work: Path) -> dict:
    """Seconds per case the bare tools take on what the run stored (medians over `case_ids`), one case at a time."""
    import pikepdf
    import pikepdf.pdfa

    from archive_store.durable import fsync_dir
    from pipeline.external.poppler import page_texts, pages_without_text, render_page
    from pipeline.pdf.normalise import _checked_image_dpi
    from pipeline.pdf.pdfa import _validator_view, pdfa_converter

    tess_env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    blobs = home.blobs()
    per_case: list[dict[str, float]] = []
    with pdfa_converter() as converter, home.catalog() as catalog:
        for n, case_id in enumerate(case_ids):
            folder = work / f"case-{n}"
            folder.mkdir(parents=True)
            record = catalog.current(case_id)
            rows = catalog.documents(case_id, record.version)
            dossier = blobs.export_to(record.dossier_sha256, folder / "dossier.pdf")
            rendered = []
            with pikepdf.open(dossier) as pdf:
                for name, spec in pdf.attachments.items():
                    if name.endswith(".docx") and str(spec.description or "").startswith("生成文书原件"):
                        (folder / name).write_bytes(spec.get_file().read_bytes())
                        rendered.append(folder / name)
            if n == 0:                                              # warm, as the ingest's converter is
                converter.export_only(rendered[0], folder / "warm.pdf")
            floor = {"convert": 0.0, "normalise": 0.0, "check": 0.0, "store": 0.0}
            for docx in rendered:
                floor["convert"] += _timed(converter.export_only, docx, docx.with_suffix(".pdf"))
            for row in (r for r in rows if r.role == "upload_original"):
                original = blobs.export_to(row.sha256, folder / f"upload-{row.seq}{Path(row.name).suffix.lower()}")
                if original.suffix == ".docx":
                    floor["normalise"] += _timed(converter.export_only, original, original.with_suffix(".pdf"))
                elif original.suffix == ".pdf":
                    for page in pages_without_text(original) or []:    # OCRmyPDF reads only these
                        image = render_page(original, page, folder / f"page-{row.seq}-{page}", dpi=300, mode="gray")
                        floor["normalise"] += _tesseract(image, 300, tess_env)
                else:
                    floor["normalise"] += _tesseract(original, _checked_image_dpi(original), tess_env)
            view = _validator_view(dossier)       # signature fields out: else the validator stops at /AcroForm
            floor["check"] = _timed(pikepdf.pdfa.validate_written, view, "3b") + _timed(_syntax_check, dossier)
            (folder / "stored").mkdir()
            stored = [blobs.export_to(sha, folder / "stored" / sha) for sha in {r.sha256 for r in rows}] + [dossier]
            floor["store"] = _timed(page_texts, dossier) + _timed(_write_durably, stored, folder / "durable", fsync_dir)
            per_case.append(floor)
            shutil.rmtree(folder, ignore_errors=True)
    if not per_case:
        return {}
    return {"floor_cases": len(per_case), "floors_s": {k: statistics.median(f[k] for f in per_case)
                                                        for k in per_case[0]}}


def _syntax_check(path: Path) -> None:
    import pikepdf

    with pikepdf.open(path) as pdf:
        pdf.check_pdf_syntax()


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def _tesseract(image: Path, dpi: int, env: dict) -> float:
    """Tesseract as OCRmyPDF runs it on one page (hOCR and text, both languages, one thread)."""
    prefix = image.with_name(image.stem + "-ocr")
    cmd = ["tesseract", "-l", "chi_sim+eng", "--dpi", str(dpi), str(image), str(prefix), "hocr", "txt"]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def _write_durably(files: list[Path], dest: Path, fsync_dir) -> None:
    """The least a durable store does: each file written and fsynced once, its folder fsynced once."""
    dest.mkdir(parents=True)
    for n, path in enumerate(files):
        with open(dest / str(n), "wb") as f:
            f.write(path.read_bytes())
            f.flush()
            os.fsync(f.fileno())
    fsync_dir(dest)


def floor_table(run: dict, floors: dict[str, float]) -> list[str]:
    """stage | ours (median) | the tool's floor | ours minus floor | the tool."""
    medians = run["stage_medians"]
    lines = [f"{'stage':<10} {'stage s':>8} {'floor s':>8} {'ours s':>8}  tool"]
    for stage in ("intake", "render", "convert", "normalise", "assemble", "check", "seal", "store", "index"):
        if stage not in medians:
            continue
        floor = floors.get(stage)
        lines.append(f"{stage:<10} {medians[stage]:>8.2f} "
                     + (f"{floor:>8.2f} {medians[stage] - floor:>8.2f}  {FLOOR_TOOLS[stage]}" if floor is not None
                        else f"{'-':>8} {medians[stage]:>8.2f}  (no external tool)"))
    return lines


def reachability(floors: dict[str, float], cores: int) -> dict:
    """What the tools alone need per dossier, whatever our own code did: at -j 1 the case's path is the longer of
    the uploads' normalisation and the conversions (they overlap), then the check, then the store; at -j 2 all the
    tools' work is spread over the cores at best."""
    f = floors
    j1 = max(f["normalise"], f["convert"]) + f["check"] + f["store"]
    j2 = sum(f.values()) / cores
    biggest = max(f, key=f.get)
    return {"j1_floor_s": j1, "j2_floor_s": j2, "largest_floor": biggest, "cores": cores}


def reachability_line(name: str, floor: float, target: float, measured: float, floors: dict[str, float],
                      path: str) -> str:
    biggest = max(floors, key=floors.get)
    stop = f"{FLOOR_TOOLS[biggest]} ({biggest} {floors[biggest]:.2f} s a case)"
    if floor > target:
        return (f"{name}: NOT reachable on this machine: the tools' floors alone need {floor:.2f} s per dossier "
                f"({path}) > {target} s, even with none of our own time; the largest floor is {stop}")
    return (f"{name}: reachable on the tools' floors ({floor:.2f} s per dossier: {path}; ≤ {target} s); measured "
            f"{measured:.2f} s, so {measured - floor:.2f} s per dossier is ours (or contention) to cut; "
            f"the largest floor is {stop}")


def floor_paths(f: dict[str, float], cores: int) -> dict[str, str]:
    return {"j1": f"max(normalise {f['normalise']:.2f}, convert {f['convert']:.2f}) + check {f['check']:.2f} "
                  f"+ store {f['store']:.2f}",
            "j2": f"(convert {f['convert']:.2f} + normalise {f['normalise']:.2f} + check {f['check']:.2f} + store "
                  f"{f['store']:.2f}) / {cores} cores"}


def measure(which: str, cases_dir: Path, count: int, work: Path, floor_cases: int = 0) -> dict:
    """One configuration, in this process; adds its peak RSS."""
    cases = sorted(p for p in cases_dir.iterdir() if p.is_dir())[:count]
    figures = naive(cases, work) if which == "naive" else yuetan(cases, int(which[1:]), work,
                                                                 floor_cases if which == "j1" else 0)
    figures.setdefault("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["per_dossier_s"] = figures["wall_s"] / figures["cases"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--naive-cases", type=int, default=None,
                        help="cases for the naive pipeline (default: all; its seconds per dossier hardly vary)")
    parser.add_argument("--json", action="store_true", help="one JSON object per configuration")
    parser.add_argument("--floor-cases", type=int, default=10,
                        help="cases of the -j 1 run whose bare tools are timed for the floors (0: none)")
    parser.add_argument("--one", help=argparse.SUPPRESS)          # naive | j1 | j2, in a child process
    parser.add_argument("--cases-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory(prefix="yuetan-bench-ingest-run-") as tmp:
            print(json.dumps(measure(args.one, args.cases_dir, args.cases, Path(tmp), args.floor_cases),
                             ensure_ascii=False))
        return
    from tests.synthetic import make_example_shaped_cases

    with tempfile.TemporaryDirectory(prefix="yuetan-bench-ingest-") as tmp:
        cases_dir = Path(tmp) / "cases"
        make_example_shaped_cases(args.cases, cases_dir)
        runs = {}
        for which, count in (("naive", args.naive_cases or args.cases), ("j1", args.cases), ("j2", args.cases)):
            done = subprocess.run([sys.executable, __file__, "--one", which, "--cases-dir", str(cases_dir),
                                   "--cases", str(count), "--floor-cases", str(args.floor_cases)],
                                  capture_output=True, text=True, env=os.environ)
            if done.returncode != 0:
                raise SystemExit(f"{which} failed:\n{done.stderr[-2000:]}")
            runs[which] = json.loads(done.stdout.strip().splitlines()[-1])
    base = runs["naive"]["per_dossier_s"]
    floors = runs["j1"].get("floors_s")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if floors:
        bounds = reachability(floors, cores)
        for which in ("j1", "j2"):
            runs[which]["floors_s"] = floors
            runs[which]["floor_bound_s"] = bounds[f"{which}_floor_s"]
            runs[which]["floor_table"] = floor_table(runs[which], floors)
            runs[which]["floor_path"] = floor_paths(floors, cores)[which]
            runs[which]["target_reachable_on_floors"] = bounds[f"{which}_floor_s"] <= TARGETS[f"{which}_s"]
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
            if floors:
                print(f"\nfloors, {runs[which]['name']} (median seconds per case; floor = the bare tool on the same "
                      f"inputs, {runs['j1']['floor_cases']} cases, measured alone in this run; ours = stage - floor):")
                print("\n".join(runs[which]["floor_table"]))
        j1, j2 = runs["j1"], runs["j2"]
        print(f"\ntargets: -j 2 {j2['per_dossier_s']:.2f} s (≤ {TARGETS['j2_s']}), "
              f"-j 1 {j1['per_dossier_s']:.2f} s (≤ {TARGETS['j1_s']}), "
              f"-j 2 {j2['ratio_to_naive']:.2f}x naive (≥ {TARGETS['ratio_j2']}), "
              f"peak RSS {max(j1['peak_rss_mb'], j2['peak_rss_mb']):.0f} MB (≤ {TARGETS['rss_mb']})")
        if floors:
            print(reachability_line("-j 1", j1["floor_bound_s"], TARGETS["j1_s"], j1["per_dossier_s"], floors,
                                    j1["floor_path"]))
            print(reachability_line(f"-j 2 ({cores} cores)", j2["floor_bound_s"], TARGETS["j2_s"],
                                    j2["per_dossier_s"], floors, j2["floor_path"]))


if __name__ == "__main__":
    main()
