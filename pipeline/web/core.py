"""The web face's calls into the core, in one place, with the shapes `--json` prints.

Until the core API of issue 11 (`pipeline.api`) lands these are thin adapters over `pipeline.records`; then each
becomes the API call of the same name."""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archive_store.errors import InvalidArgument
from archive_store.home import ArchiveHome


def search(home: ArchiveHome, query: str, *, actor, limit: int = 20, offset: int = 0, **filters) -> dict:
    from pipeline.search.index import search as search_index

    found = search_index(home.index_dir, query or "", limit=offset + limit, **filters).as_dict()
    found["hits"] = found["hits"][offset:offset + limit]
    found.setdefault("facets", {})
    return found


def show(home: ArchiveHome, reference: str, *, actor) -> dict:
    from pipeline.records.lookup import show_case

    return show_case(home, reference)


def case_record(home: ArchiveHome, reference: str):
    """The stored (not purged) case version a reference names, for serving its files by catalog lookup."""
    from pipeline.records.lookup import find_case

    with home.catalog() as catalog:
        record = find_case(catalog, reference)
    if record is None:
        raise InvalidArgument(f"档案库中没有文号或案件编号为“{reference}”的案件")
    return record


@contextmanager
def dossier_copy(home: ArchiveHome, record) -> Iterator[Path]:
    """The case's sealed dossier written to a private temporary file (its hash checked), removed afterwards:
    nothing derived from a dossier outlives the request, so a destruction leaves no copy behind."""
    with tempfile.TemporaryDirectory(prefix="yuetan-web-") as tmp:
        yield home.blobs().export_to(record.dossier_sha256, Path(tmp) / "dossier.pdf")


def verify(path: Path, *, trust: Path | None = None) -> dict:
    from pipeline.pdf.verify import verify_dossier

    return verify_dossier(path, trust=trust).as_dict()


def outline(path: Path) -> tuple[list[dict], int]:
    from pipeline.pdf.outline import dossier_outline

    entries, count = dossier_outline(path)
    return [e.as_dict() for e in entries], count


def page_png(path: Path, page: int, dest: Path) -> Path:
    from pipeline.external.poppler import pdf_page_png

    return pdf_page_png(path, page, dest)


def ledger_list(home: ArchiveHome, case_id: str | None = None, *, actor) -> list[dict]:
    from archive_store import ledger

    with home.catalog() as catalog:
        return [e.as_dict() for e in ledger.entries(catalog.conn, case_id)]


def ledger_verify(home: ArchiveHome, *, actor) -> dict:
    from archive_store import ledger

    with home.catalog() as catalog:
        problems = ledger.verify_chain(catalog.conn)
        count = len(ledger.entries(catalog.conn))
    return {"ok": not problems, "entries": count, "problems": problems}


def audit(home: ArchiveHome, *, actor) -> dict:
    from pipeline.records.audit import audit_archive

    return audit_archive(home).as_dict()
