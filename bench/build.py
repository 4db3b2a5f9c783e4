"""Seconds per sealed dossier for the three bundled examples, with one warm LibreOffice converter.

    .venv/bin/python bench/build.py [--repeat 3]

The converter is started and warmed on one document first, so the figures are the build itself:
rendering, conversion, normalising (OCR) the uploads, assembling and sealing.
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
        medians = {}
        for name in EXAMPLES:
            times = []
            for i in range(args.repeat):
                started = time.perf_counter()
                build_dossier(ROOT / "examples" / name, Path(tmp) / f"{name}-{i}.pdf", home=home,
                              converter=converter, filed_by="bench")
                times.append(time.perf_counter() - started)
            medians[name] = statistics.median(times)
            print(f"{name}: median {medians[name]:.2f} s per dossier over {args.repeat} builds "
                  f"(min {min(times):.2f}, max {max(times):.2f})")
        print(f"all three: median of medians {statistics.median(medians.values()):.2f} s per dossier")


if __name__ == "__main__":
    main()
