"""Seconds per sealed dossier for the three bundled examples, with one warm LibreOffice converter.

    .venv/bin/python bench/build.py [--repeat 3]

The converter is started and warmed on one document first, so the figures are the build itself:
rendering, conversion, normalising (OCR) the uploads, assembling and sealing; then the stage table (median
seconds per stage of each example), the same table `yuetan -v build` logs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive_store.clock import StageTimes, stage_table  # noqa: E402
from pipeline.dossier import build_dossier  # noqa: E402
from pipeline.pdf.pdfa import pdfa_converter  # noqa: E402
from pipeline.records.setup import init_home  # noqa: E402

EXAMPLES = ["institution-onsite", "bureau-video", "refused-to-sign"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yuetan-bench-build-") as tmp, pdfa_converter() as converter:
        home, _ = init_home(Path(tmp) / "home")
        build_dossier(ROOT / "examples" / EXAMPLES[1], Path(tmp) / "warm-up.pdf", home=home, converter=converter,
                      filed_by="bench")
        medians, rows = {}, []
        for name in EXAMPLES:
            times, stages = [], []
            for i in range(args.repeat):
                started = time.perf_counter()
                stage_times = StageTimes()
                build_dossier(ROOT / "examples" / name, Path(tmp) / f"{name}-{i}.pdf", home=home,
                              converter=converter, filed_by="bench", times=stage_times)
                times.append(time.perf_counter() - started)
                stages.append(stage_times.finish())
            rows.append((name, {k: statistics.median(s.get(k, 0.0) for s in stages)
                                for k in sorted({k for s in stages for k in s})}))
            medians[name] = statistics.median(times)
            print(f"{name}: median {medians[name]:.2f} s per dossier over {args.repeat} builds "
                  f"(min {min(times):.2f}, max {max(times):.2f})")
        print(f"all three: median of medians {statistics.median(medians.values()):.2f} s per dossier")
        print("\nstage table (median seconds per build; stages overlap, so they may add up to more than the wall):")
        print("\n".join(stage_table(rows)))


if __name__ == "__main__":
    main()
