"""Reindex: the search index made again from the catalog and the blob store alone.

The index is derived data; nothing in it is needed to rebuild it. `rebuild` swaps the new index in whole,
so searches keep working on the old one until the new one is complete.
"""
from __future__ import annotations

import json
from dataclasses import asdict

from archive_store import ledger
from archive_store.actors import Actor
from archive_store.catalog import CaseRecord, Catalog
from archive_store.durable import file_lock
from archive_store.home import ArchiveHome
from pipeline.case.contract import Case
from pipeline.search.index import (
    IndexDocument,
    configured_engine,
    document_for_case,
    rebuild,
)


def index_document(record: CaseRecord, catalog: Catalog, blobs) -> IndexDocument:
    """The index document of a stored case version, from its case.json, findings and document texts."""
    case = Case.model_validate_json(blobs.read_bytes(record.case_json_sha256))
    texts = json.loads(blobs.read_bytes(record.text_sha256)) if record.text_sha256 else {"documents": []}
    findings = [asdict(f) for f in catalog.findings(record.case_id, record.version)]
    return document_for_case(case, record.notice_number, findings,
                             {d["title"]: d["text"] for d in texts["documents"]},
                             manifest_sha256=record.manifest_sha256, version=record.version)


def reindex(home: ArchiveHome, *, actor: Actor) -> int:
    """Rebuild the whole index from the store, in the engine the settings name (`[index] engine`: this is how
    an archive switches engines); returns how many cases it holds."""
    from pipeline.search.follow import write_position

    blobs = home.blobs()
    engine = configured_engine(home)
    with file_lock(home.index_lock), home.catalog() as catalog:
        head = ledger.head(catalog)            # read first: a change after it is replayed by the follower
        records = catalog.all_cases(status="current")
        count = rebuild(home.index_dir, (index_document(r, catalog, blobs) for r in records), engine=engine)
        write_position(home, head.seq if head else 0)
        with catalog.transaction() as tx:
            for r in records:
                catalog.mark_indexed(tx, r.case_id, r.version)
            ledger.append(tx, action="reindex", actor=actor, details={"cases": count, "engine": engine})
    return count
