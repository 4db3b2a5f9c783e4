"""The documents inside a sealed dossier and their pages, read back from its bookmarks (one per document, in
archival order, as `assemble` writes them), so a reader can open each document at its first page."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pikepdf


@dataclass(frozen=True)
class OutlineEntry:
    title: str
    first_page: int          # 1-based physical page of the dossier file
    last_page: int

    def as_dict(self) -> dict:
        return {"title": self.title, "first_page": self.first_page, "last_page": self.last_page}


def dossier_outline(source: Path | BinaryIO) -> tuple[list[OutlineEntry], int]:
    """(the documents with their page ranges, the number of pages); an entry runs to the page before the next."""
    with pikepdf.open(source) as pdf:
        count = len(pdf.pages)
        index = {page.objgen: i for i, page in enumerate(pdf.pages)}
        starts: list[tuple[str, int]] = []
        with pdf.open_outline() as outline:
            for item in outline.root:
                destination = item.destination
                if isinstance(destination, pikepdf.Array) and len(destination) and \
                        destination[0].objgen in index:
                    starts.append((str(item.title), index[destination[0].objgen] + 1))
    starts.sort(key=lambda s: s[1])
    entries = [OutlineEntry(title, first, (starts[i + 1][1] - 1) if i + 1 < len(starts) else count)
               for i, (title, first) in enumerate(starts)]
    return [e for e in entries if e.last_page >= e.first_page], count
