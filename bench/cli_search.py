"""CLI search bench: the wall time of `yuetan search WORDS` on an archive of N cases, each run a fresh process
(process start and imports included), next to `python -c pass` and `yuetan --help` measured in the same run.

    .venv/bin/python bench/cli_search.py [--cases 10000] [--queries 40] [--repeats 1] [--dir DIR] [--json]

The archive is the search bench's corpus (bench/search.py: synthetic cases with the examples and the labelled
cases of bench/queries/ among them) stored as bench/web.py stores it (catalog rows, ledger entries, index; no
dossiers). With --dir the archive is kept there and reused by the next run with the same --dir (building 10,000
cases takes a few minutes). The queries are the first --queries of the labelled query set, with their filters
as the command's options, and --json after every other one (both outputs are timed). Each row gives the wall
time (p50, p95) and the CPU time (user + system, p50 and p95) of the process, which a busy machine disturbs less.
--compare runs another yuetan (e.g. main's venv) on the same queries, interleaved with this one. Target
(issue 13): p95 <= 0.4 s at 10,000 cases.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
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

OPTIONS = {"kind": "--kind", "ground": "--ground", "region": "--region", "outcome": "--outcome",
           "date_from": "--from", "date_to": "--to"}


def bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_bench", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_archive(home_dir: Path, n: int, seed: int) -> None:
    """Build the archive unless `home_dir` already holds one of `n` cases made by this bench."""
    stamp = home_dir / "bench-cli-search.json"
    if stamp.exists() and json.loads(stamp.read_text())["cases"] == n:
        return
    shutil.rmtree(home_dir, ignore_errors=True)
    search = bench_module("search")
    web = bench_module("web")
    t0 = time.perf_counter()
    docs = list(search.corpus(n, seed, {}))
    web.store_archive(home_dir, docs)
    print(f"档案库：{len(docs)} 件（目录、台账、索引），{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    stamp.write_text(json.dumps({"cases": n}))


def wall(argv: list[str], cpu: list[float] | None = None) -> float:
    """Wall time of one run; its CPU time (user + system, less disturbed by a busy machine) goes to `cpu`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} 退出码 {done.returncode}：{done.stderr.decode()[-500:]}")
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]


def summary(name: str, values: list[float], cpu: list[float]) -> dict:
    return {"name": name, "runs": len(values), "p50_s": round(statistics.median(values), 3),
            "p95_s": round(p95(values), 3), "cpu_p50_s": round(statistics.median(cpu), 3),
            "cpu_p95_s": round(p95(cpu), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=40, help="how many of the labelled queries (in file order)")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each query")
    ap.add_argument("--baseline-runs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=None, help="where to build and keep the archive (default: temp, removed)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--compare", default=None,
                    help="another yuetan executable (e.g. main's venv) timed on the same queries, interleaved")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="yuetan-bench-cli-"))
    home = work / "home"
    try:
        ensure_archive(home, args.cases, args.seed)
        yuetan = str(Path(sys.executable).with_name("yuetan"))
        queries = json.loads((ROOT / "bench" / "queries" / "queries.json").read_text("utf-8"))["queries"]
        programs = {"yuetan": yuetan} | ({"对照 " + args.compare: args.compare} if args.compare else {})
        commands: dict[str, list[list[str]]] = {name: [] for name in programs}
        for i, q in enumerate(queries[:args.queries]):
            options = []
            for key, value in q.get("filters", {}).items():
                options += [OPTIONS[key], str(value)]
            for name, program in programs.items():
                commands[name].append([program, "--home", str(home), "search", q["q"], *options]
                                      + (["--json"] if i % 2 else []))
        for name in programs:
            wall(commands[name][0])                                  # the page cache warm, as for a user
        runs: dict[str, tuple[list[float], list[float]]] = {
            key: ([], []) for key in ["python -c pass", "yuetan --help", *programs]}
        for r in range(max(args.baseline_runs, args.repeats)):      # interleaved: the same load on each
            if r < args.baseline_runs:
                runs["python -c pass"][0].append(wall([sys.executable, "-c", "pass"], runs["python -c pass"][1]))
                runs["yuetan --help"][0].append(wall([yuetan, "--help"], runs["yuetan --help"][1]))
            if r < args.repeats:
                for j in range(len(queries[:args.queries])):
                    for name in programs:
                        runs[name][0].append(wall(commands[name][j], runs[name][1]))
        n = len(queries[:args.queries])
        rows = [summary(name if name not in programs else f"{name} search（{n} 条标注查询）", *values)
                for name, values in runs.items()]
        if args.json:
            print(json.dumps({"cases": args.cases, "rows": rows}, ensure_ascii=False))
        else:
            print(f"{args.cases} 件案件，每次新起进程（含启动与导入）")
            print(f"{'命令':<60} {'次数':>5} {'p50 s':>8} {'p95 s':>8} {'CPU p50 s':>10} {'CPU p95 s':>10}")
            for row in rows:
                print(f"{row['name']:<60} {row['runs']:5d} {row['p50_s']:8.3f} {row['p95_s']:8.3f} "
                      f"{row['cpu_p50_s']:10.3f} {row['cpu_p95_s']:10.3f}")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
