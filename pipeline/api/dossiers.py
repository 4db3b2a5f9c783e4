"""A stored dossier read page by page (the web application's viewer): its documents with their page ranges, and
one page as an image. Both work on a dossier file written out by `open_dossier` (its hash checked)."""
from __future__ import annotations

from pathlib import Path

from pipeline.api.models import ApiModel
from pipeline.external.poppler import pdf_page_png
from pipeline.pdf.outline import dossier_outline as read_outline


class OutlineDocument(ApiModel):
    title: str
    first_page: int
    last_page: int


class DossierOutline(ApiModel):
    pages: int
    documents: list[OutlineDocument]


def dossier_outline(dossier: Path) -> DossierOutline:
    """The documents inside a sealed dossier (from its bookmarks, in archival order) and their pages."""
    entries, pages = read_outline(dossier)
    return DossierOutline(pages=pages, documents=[OutlineDocument(**e.as_dict()) for e in entries])


def dossier_page(dossier: Path, page: int, dest: Path) -> Path:
    """Page `page` (1-based) of a dossier as a PNG at `dest`."""
    return pdf_page_png(dossier, page, dest)
