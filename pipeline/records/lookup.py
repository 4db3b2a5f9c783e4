"""Finding one stored case again by its notice number or case_id: its record, or its dossier written out."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from archive_store.errors import IndexDamaged, InvalidArgument

if TYPE_CHECKING:
    from archive_store.catalog import CaseRecord, Catalog
    from archive_store.home import ArchiveHome

# The ledger, the case contract and retention (which loads the document stack) are imported by the functions that
# use them: `yuetan search` comes through this module and needs none of them (nor SQLAlchemy).


def find_case(catalog: Catalog, reference: str) -> CaseRecord | None:
    """The current version of the case named by notice number, 档号 or case_id (else its latest version)."""
    reference = reference.strip()
    if not _may_name_a_case(reference):
        return None
    record = (catalog.current(reference) or catalog.by_notice_number(reference)
              or catalog.by_archival_code(reference))
    if record is None:
        versions = [v for v in catalog.versions(reference) if v.status != "purged"]
        record = versions[-1] if versions else None
    return record


def _may_name_a_case(reference: str) -> bool:
    """No stored identifier holds a NUL (the contract refuses control characters), and PostgreSQL refuses one in
    a query parameter with an error: such a reference simply names no case."""
    return "\x00" not in reference


def show_case(home: ArchiveHome, reference: str) -> dict:
    """The catalog record with findings, documents, versions, holds and ledger entries (catalog and ledger
    objects); `{"status": "purged", "tombstone": {...}}` if the case was purged."""
    from archive_store import ledger
    from pipeline.case.outcomes import OUTCOME_LABELS, Outcome
    from pipeline.records.retention import tombstone_summary

    with home.catalog() as catalog:
        record = find_case(catalog, reference)
        if record is None:
            stone = tombstone_summary(home, reference) if _may_name_a_case(reference) else None
            if stone is not None:
                return {"status": "purged", "tombstone": stone}
            raise InvalidArgument(f"档案库中没有文号、档号或案件编号为“{reference}”的案件：请用 yuetan search 查找")
        return {
            "status": record.status,
            "record": record,
            "outcome_label": OUTCOME_LABELS.get(Outcome(record.outcome), record.outcome),
            "findings": catalog.findings(record.case_id, record.version),
            "documents": catalog.documents(record.case_id, record.version),
            "versions": catalog.versions(record.case_id),
            "holds": catalog.hold_history(record.case_id),
            "ledger": ledger.entries(catalog, record.case_id),
        }


def open_dossier(home: ArchiveHome, reference: str, dest: Path) -> CaseRecord:
    """Write the case's sealed dossier to `dest`, checking its hash on the way out."""
    from pipeline.records.retention import tombstone_summary

    with home.catalog() as catalog:
        record = find_case(catalog, reference)
    if record is None:
        if _may_name_a_case(reference) and tombstone_summary(home, reference) is not None:
            raise InvalidArgument(f"案件“{reference}”已按销毁清册销毁，案卷不再保存：用 yuetan show 查看销毁记录")
        raise InvalidArgument(f"档案库中没有文号、档号或案件编号为“{reference}”的案件：请用 yuetan search 查找")
    dest = home.output_file(dest)
    home.blobs().export_to(record.dossier_sha256, dest)
    return record


def search_archive(home: ArchiveHome, query: str = "", **options):
    """`yuetan search`: the index, which must be there when the catalog holds cases (an empty answer from a lost
    index would look like "nothing found")."""
    from pipeline.search import index

    if not index.index_exists(home.index_dir):
        with home.catalog() as catalog:
            current = len(catalog.all_cases(status="current"))
        if current:
            raise IndexDamaged(f"全文索引 {home.index_dir} 缺失或不完整，而档案库中有 {current} 件现行案件："
                               "请运行 yuetan reindex 重建索引")
    return index.search(home.index_dir, query, **options)
