"""Each node's index follows the catalog: the ledger is the catalog's change sequence.

Several nodes share one catalog and one blob store, but each has its own search index (derived data on its own
disk). A node catches up by reading the ledger entries after the last one it applied: an ingest or a new version
puts the case's current version into the index, a purge removes the case. Entries become visible in the order of
their numbers (appends are serialised in the database up to the commit), so nothing is skipped. The position is
kept beside the index (`index.follow.json`); `reindex` rebuilds from catalog and store alone and sets the
position to the ledger's end as it was when the rebuild started.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from archive_store import ledger
from archive_store.durable import file_lock, fsync_dir
from archive_store.home import ArchiveHome

STATE_FILE = "index.follow.json"
FOLLOW_LOCK = ".follow.lock"
DEFAULT_INTERVAL_S = 3.0
_INDEXING = ("ingest", "supersede")
_REMOVING = ("purge",)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowResult:
    position: int              # the last ledger entry applied
    indexed: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.indexed or self.removed)


def state_path(home: ArchiveHome) -> Path:
    return home.path / STATE_FILE


def position(home: ArchiveHome) -> int | None:
    """The last ledger entry this node's index has applied; None when the node never followed or rebuilt."""
    try:
        return int(json.loads(state_path(home).read_text(encoding="utf-8"))["ledger_seq"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return 0                          # a damaged position: replaying from the start is always correct


def write_position(home: ArchiveHome, seq: int) -> None:
    path = state_path(home)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"ledger_seq": seq}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def catch_up(home: ArchiveHome, *, batch: int = 500) -> FollowResult:
    """Apply every ledger entry after this node's position to its index; safe to run at any time.

    Goes through the search engine's interface (`add`, `remove`, `indexed`), so it works for whichever engine
    `[index] engine` names and creates the index in it; a case whose indexed version is already the current
    one (this node ingested it) is not indexed again. Holds the index lock shared (as ingest does), so it never
    writes under a rebuild."""
    from pipeline.search.index import configured_engine, index_cases, indexed_case_ids, remove_case
    from pipeline.search.reindex import index_document

    blobs = home.blobs()
    engine = configured_engine(home)
    indexed = removed = 0
    with file_lock(home.index_lock, shared=True), home.catalog() as catalog:
        start = position(home) or 0
        while True:
            entries = ledger.entries(catalog, after=start)[:batch]
            if not entries:
                return FollowResult(start, indexed, removed)
            wanted: dict[str, str] = {}
            for entry in entries:
                if entry.case_id and entry.action in _INDEXING:
                    wanted[entry.case_id] = "index"
                elif entry.case_id and entry.action in _REMOVING:
                    wanted[entry.case_id] = "remove"
            have = indexed_case_ids(home.index_dir) if wanted else {}     # {case_id: manifest_sha256}
            docs = []
            for case_id, what in wanted.items():
                record = catalog.current(case_id) if what == "index" else None
                if record is None:
                    removed += remove_case(home.index_dir, case_id) if case_id in have else 0
                elif have.get(case_id) != record.manifest_sha256:
                    docs.append(index_document(record, catalog, blobs))
            indexed += index_cases(home.index_dir, docs, engine=engine) if docs else 0
            start = entries[-1].seq
            write_position(home, start)
            log.debug("index caught up to ledger entry %s (%s indexed, %s removed)", start, indexed, removed)


def follow(home: ArchiveHome, *, interval: float = DEFAULT_INTERVAL_S, stop: threading.Event | None = None,
           on_change=None) -> None:
    """Catch up now, then every `interval` seconds until `stop` is set (a server's background thread, or
    `yuetan follow`). An error is logged and retried at the next tick: the index is derived data.

    One follower per node at a time (`FOLLOW_LOCK`): a second one (`yuetan serve` beside a `yuetan follow`
    service) waits until the first stops, instead of writing the same index twice."""
    stop = stop or threading.Event()
    with file_lock(home.path / FOLLOW_LOCK):
        while True:
            try:
                result = catch_up(home)
                if result.changed and on_change is not None:
                    on_change(result)
            except Exception:  # noqa: BLE001 - a node keeps serving; the next tick retries
                log.exception("index follower: catching up failed; retrying in %.0f s", interval)
            if stop.wait(interval):
                return


def start_follower(home: ArchiveHome, *, interval: float = DEFAULT_INTERVAL_S) -> threading.Event:
    """Run `follow` in a daemon thread (for `yuetan serve`); set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=follow, args=(home,), kwargs={"interval": interval, "stop": stop},
                     name="index-follower", daemon=True).start()
    return stop
