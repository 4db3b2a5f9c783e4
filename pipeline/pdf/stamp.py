"""The 归档章 on each document's first page: a vector overlay, so the dossier stays PDF/A and the text extractable.

The stamps are drawn by LibreOffice from templates/归档章.docx (one stamp a page, the archive's fonts embedded as
in every other document) and each page is placed, as a Form XObject, in the blank top of a document's first
page (DA/T 22-2015 5.4: 首页上端的空白位置). Where the configured place is not blank (a scan, a letterhead),
it is tried 5 mm higher, then the other places along the top; if none is blank the stamp goes to the configured place and the
caller is told, so the 备考表 can say so.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import Rectangle

from archive_store.errors import ExternalProgramError
from pipeline.external.poppler import pages_gray

MM = 72 / 25.4
TOPS_MM = (10, 5)            # the stamp's top edge below the page's top edge: the usual place, then higher
INKED_MM = 17                # the stamp page's inked part from its top: the 16 mm table and its margin
SIDE_MM = {"top-right": 26, "top-left": 28}   # GB/T 9704's right and binding-side margins
ORDER = {"top-right": ("top-right", "top-centre", "top-left"),
         "top-centre": ("top-centre", "top-right", "top-left"),
         "top-left": ("top-left", "top-centre", "top-right")}
DARK = 160                   # a pixel darker than this is ink
INK_SHARE = 0.002            # more than this share of ink pixels: not blank (scan noise is allowed)
PROBE_DPI = 36


@dataclass(frozen=True)
class StampPlacement:
    page_width: float
    page_height: float
    rect: tuple[float, float, float, float]     # the stamp page's box on the document page, PDF points
    position: str
    on_blank: bool


def probe_first_pages(documents: list[Path], work: Path) -> list[tuple[int, int, bytes]]:
    """Each document's first page drawn small in grey, where `stamp_first_page` looks for a blank place; it needs
    nothing of the stamp, so a build draws it while LibreOffice draws the stamps.

    The first pages are copied into one file in `work` and drawn by one pdftoppm: a run's start and its setting up
    of a document cost more than drawing a small page (4 runs 0.07 s of CPU, one run 0.03 s), and each image is the
    same, byte for byte, as drawn from its own document."""
    joined = Path(work) / f"first-pages-{uuid.uuid4().hex}.pdf"
    try:
        with pikepdf.new() as pdf:
            for document in documents:
                with pikepdf.open(document) as source:
                    pdf.pages.append(source.pages[0])
            pdf.save(joined)
        drawn = pages_gray(joined, dpi=PROBE_DPI)
    finally:
        joined.unlink(missing_ok=True)
    if len(drawn) != len(documents):
        raise ExternalProgramError(f"pdftoppm 只画出了 {len(drawn)} 份文件的首页（共 {len(documents)} 份）")
    return drawn


def stamp_first_page(document: Path, stamp_pdf: Path, stamp_index: int, dest: Path, *,
                     position: str = "top-right", probe: tuple[int, int, bytes] | None = None) -> StampPlacement:
    """Copy `document` to `dest` with page `stamp_index` of `stamp_pdf` drawn on its first page (`probe`: its
    `probe_first_pages`, if drawn already)."""
    width, height, gray = probe or probe_first_pages([document], dest.parent)[0]
    with pikepdf.open(document) as doc, pikepdf.open(stamp_pdf) as stamps:
        page = doc.pages[0]
        stamp = stamps.pages[stamp_index]
        box = [float(v) for v in page.mediabox]
        rotate = int(page.obj.get("/Rotate", 0)) % 360
        shown_w, shown_h = (box[2] - box[0], box[3] - box[1])
        if rotate in (90, 270):
            shown_w, shown_h = shown_h, shown_w
        sw, sh = (float(stamp.mediabox[2]) - float(stamp.mediabox[0]),
                  float(stamp.mediabox[3]) - float(stamp.mediabox[1]))
        chosen = None
        for place in ORDER[position]:
            for top in TOPS_MM:
                rect = _shown_rect(place, shown_w, shown_h, sw, sh, top)
                inked = (rect[0], rect[3] - min(sh, INKED_MM * MM), rect[2], rect[3])
                if _blank(gray, width, height, inked, shown_w, shown_h):
                    chosen = (place, rect, True)
                    break
            if chosen is not None:
                break
        if chosen is None:
            chosen = (position, _shown_rect(position, shown_w, shown_h, sw, sh, TOPS_MM[0]), False)
        place, shown, on_blank = chosen
        user = _to_user_space(shown, rotate, box)
        page.add_overlay(stamp, Rectangle(*user))
        doc.save(dest, fix_metadata_version=False, deterministic_id=True)
    return StampPlacement(shown_w, shown_h, shown, place, on_blank)


def _shown_rect(place: str, page_w: float, page_h: float, w: float, h: float,
                top_mm: float) -> tuple[float, float, float, float]:
    """The stamp page's box as the page is shown (origin bottom-left), its top `top_mm` below the page's top."""
    top = page_h - top_mm * MM
    if place == "top-right":
        right = page_w - SIDE_MM["top-right"] * MM
        left = right - w
    elif place == "top-left":
        left = SIDE_MM["top-left"] * MM
    else:
        left = (page_w - w) / 2
    left = max(0.0, min(left, page_w - w))
    return (left, top - h, left + w, top)


def _blank(gray: bytes, width: int, height: int, rect, page_w: float, page_h: float) -> bool:
    """No ink in the stamp's box (1 mm around it included) on the page as drawn."""
    pad = MM
    x0 = max(0, int((rect[0] - pad) / page_w * width))
    x1 = min(width, int((rect[2] + pad) / page_w * width) + 1)
    y0 = max(0, int((page_h - rect[3] - pad) / page_h * height))
    y1 = min(height, int((page_h - rect[1] + pad) / page_h * height) + 1)
    if x1 <= x0 or y1 <= y0:
        return False
    ink = sum(1 for y in range(y0, y1) for v in gray[y * width + x0:y * width + x1] if v < DARK)
    return ink <= INK_SHARE * (x1 - x0) * (y1 - y0)


def _to_user_space(rect, rotate: int, box: list[float]) -> tuple[float, float, float, float]:
    """A box on the page as shown, in the page's own coordinates (undoing /Rotate)."""
    x0, y0, x1, y1 = rect
    w, h = box[2] - box[0], box[3] - box[1]
    if rotate == 90:
        x0, y0, x1, y1 = w - y1, x0, w - y0, x1
    elif rotate == 180:
        x0, y0, x1, y1 = w - x1, h - y1, w - x0, h - y0
    elif rotate == 270:
        x0, y0, x1, y1 = y0, h - x1, y1, h - x0
    return (x0 + box[0], y0 + box[1], x1 + box[0], y1 + box[1])
