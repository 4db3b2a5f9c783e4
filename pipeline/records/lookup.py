"""Finding one stored case again by its notice number or case_id: its record, or its dossier written out."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from archive_store import ledger
from archive_store.catalog import CaseRecord, Catalog
from archive_store.errors import InvalidArgument
from archive_store.home import ArchiveHome
from pipeline.case.contract import OUTCOME_LABELS, Outcome
from pipeline.records.retention import tombstone_summary


def find_case(catalog: Catalog, reference: str) -> CaseRecord | None:
    """The current version of the case named by notice number or case_id (else its latest version)."""
    reference = reference.strip()
    record = catalog.current(reference) or catalog.by_notice_number(reference)
    if record is None:
        versions = [v for v in catalog.versions(reference) if v.status != "purged"]
        record = versions[-1] if versions else None
    return record


def show_case(home: ArchiveHome, reference: str) -> dict:
    """The catalog record with findings, documents, versions, holds and ledger entries; a tombstone if purged."""
    with home.catalog() as catalog:
        record = find_case(catalog, reference)
        if record is None:
            stone = tombstone_summary(home, reference)
            if stone is not None:
                return {"status": "purged", "tombstone": stone}
            raise InvalidArgument(f"档案库中没有文号或案件编号为“{reference}”的案件：请用 yuetan search 查找")
        return {
            "status": record.status,
            "record": _plain(record.__dict__),
            "outcome_label": OUTCOME_LABELS.get(Outcome(record.outcome), record.outcome),
            "findings": [f.as_dict() for f in catalog.findings(record.case_id, record.version)],
            "documents": [_plain(d.__dict__) for d in catalog.documents(record.case_id, record.version)],
            "versions": [{"version": v.version, "status": v.status, "archived_at": _plain(v.archived_at),
                          "dossier_sha256": v.dossier_sha256} for v in catalog.versions(record.case_id)],
            "holds": [_plain(h.__dict__) for h in catalog.hold_history(record.case_id)],
            "ledger": [e.as_dict() for e in ledger.entries(catalog.conn, record.case_id)],
        }


def open_dossier(home: ArchiveHome, reference: str, dest: Path) -> CaseRecord:
    """Write the case's sealed dossier to `dest`, checking its hash on the way out."""
    with home.catalog() as catalog:
        record = find_case(catalog, reference)
    if record is None:
        if tombstone_summary(home, reference) is not None:
            raise InvalidArgument(f"案件“{reference}”已按销毁清册销毁，案卷不再保存：用 yuetan show 查看销毁记录")
        raise InvalidArgument(f"档案库中没有文号或案件编号为“{reference}”的案件：请用 yuetan search 查找")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    home.blobs().export_to(record.dossier_sha256, dest)
    return record


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
