"""Documents per second: cold one-shot `soffice --convert-to` against the persistent converter.

    .venv/bin/python bench/convert.py [-n 10]

Both convert the same N one-page Chinese Word documents (made here with python-docx) in one run.
Cold: one `soffice --headless --convert-to` per document, each with a fresh profile folder, as a
script without yuetan would do it, exporting PDF/A-2b with the same filter option. Persistent: one
LibreOfficeConverter for the whole batch; each document's time includes what yuetan does after the
export (/Lang, PDF/A save, check_pdfa with qpdf --check). Its start-up, paid once per batch, is
printed separately and left out of the per-document times.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docx import Document  # noqa: E402
from docx.oxml.ns import qn  # noqa: E402
from docx.shared import Pt  # noqa: E402

from pipeline.pdf.pdfa import pdfa_converter  # noqa: E402

FONT = "Noto Serif CJK SC"
COLD_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
PARAGRAPH = ("经查，你单位在检验检测活动中存在超出资质认定证书规定的检验检测能力范围出具检验检测报告、"
             "原始记录信息不完整、授权签字人未按规定签发报告等问题。")


def make_documents(folder: Path, count: int) -> list[Path]:
    """One-page notices: a title and six paragraphs of body text in the CJK serif."""
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        document = Document()
        for text, size in [(f"约谈通知书（第{i + 1}号）", 22)] + [(PARAGRAPH, 16)] * 6:
            run = document.add_paragraph().add_run(text)
            run.font.name = FONT
            run.font.size = Pt(size)
            run._element.get_or_add_rPr().rFonts.set(qn("w:eastAsia"), FONT)
        path = folder / f"通知书{i + 1:02d}.docx"
        document.save(path)
        paths.append(path)
    return paths


def cold(documents: list[Path], work: Path) -> list[float]:
    times = []
    soffice = shutil.which("soffice")
    for i, src in enumerate(documents):
        profile, outdir = work / f"profile-{i}", work / f"cold-{i}"
        started = time.perf_counter()
        subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", COLD_FILTER, "--outdir", str(outdir), str(src)],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - started)
        if not (outdir / src.with_suffix(".pdf").name).is_file():
            raise SystemExit(f"cold soffice wrote no PDF for {src.name}")
    return times


def persistent(documents: list[Path], work: Path) -> tuple[float, list[float]]:
    times = []
    started = time.perf_counter()
    with pdfa_converter() as converter:
        warm_up = make_documents(work / "warm-up", 1)[0]
        converter.convert_to_pdfa(warm_up, work / "warm-up.pdf")
        start_up = time.perf_counter() - started
        for src in documents:
            started = time.perf_counter()
            converter.convert_to_pdfa(src, work / "warm" / src.with_suffix(".pdf").name)
            times.append(time.perf_counter() - started)
    return start_up, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="documents (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yuetan-bench-convert-") as tmp:
        work = Path(tmp)
        documents = make_documents(work / "in", args.n)
        cold_times = cold(documents, work)
        start_up, warm_times = persistent(documents, work)
    cold_median, warm_median = statistics.median(cold_times), statistics.median(warm_times)
    print(f"{args.n} one-page Chinese DOCX documents")
    print(f"cold soffice --convert-to (fresh profile each): median {cold_median:.3f} s per document, "
          f"{1 / cold_median:.1f} documents/s (total {sum(cold_times):.1f} s)")
    print(f"persistent converter (PDF/A-2b + /Lang + check_pdfa): median {warm_median:.3f} s per document, "
          f"{1 / warm_median:.1f} documents/s (total {sum(warm_times):.1f} s; start-up and first document "
          f"{start_up:.1f} s, once per batch)")
    print(f"ratio (cold median / persistent median): {cold_median / warm_median:.1f}x")


if __name__ == "__main__":
    main()
