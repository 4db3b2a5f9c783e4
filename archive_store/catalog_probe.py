"""A SQLite catalog read with the standard library's sqlite3 only, for a command that starts in a fresh process
and only reads (`yuetan search`): importing SQLAlchemy and the schema costs that command a fifth of a second,
half of what it may take in all.

The probe only ever answers "all is as expected" (or a read of the expected tables). Anything else (no mirror,
an older schema, a mirror behind the ledger, a file it cannot open, PostgreSQL) is left to the full catalog,
`archive_store.catalog.Catalog`, which says what is wrong, upgrades or adopts, exactly as before. So the probe
never gives a message of its own, and only reads. Its connection is nonetheless opened read-write, like the full
catalog's: closing the last connection then folds the write-ahead log back and removes it and the -shm file, as
SQLite does; a read-only connection would leave them behind in the home.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from . import mirror
from .migrate import SQLITE_USER_VERSION, _head_from_scripts


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=5.0)


def sound(path: Path) -> bool:
    """True when opening the catalog at `path` with its head checked (Catalog(check_head=True)) would find
    nothing wrong and have nothing to write: the schema at the head revision, the archive's identity and the
    ledger's last entry as the mirror beside it records them."""
    path = Path(path)
    try:
        if not path.stat().st_size:
            return False
        mark = mirror.read_mark(path.parent)
    except Exception:  # noqa: BLE001 - whatever it is, the full catalog says it
        return False
    if mark is None:
        return False
    head_revision = _head_from_scripts()
    try:
        conn = _connect(path)
    except sqlite3.Error:
        return False
    try:
        (user_version,) = conn.execute("PRAGMA user_version").fetchone()
        revisions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        if user_version != SQLITE_USER_VERSION or head_revision is None or revisions != [(head_revision,)]:
            return False
        identity = conn.execute("SELECT value FROM archive_meta WHERE key = 'archive_id'").fetchone()
        if identity is None or identity[0] != mark.archive_id:
            return False
        if mark.seq == 0:
            return True
        last = conn.execute("SELECT seq, entry_hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        return last is not None and last[0] == mark.seq and last[1] == mark.entry_hash
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def current_archival_codes(path: Path, case_ids: list[str]) -> dict[str, str | None] | None:
    """As Catalog.current_archival_codes, read with sqlite3; None when the file cannot be read so."""
    if not case_ids:
        return {}
    wanted = sorted(set(case_ids))
    try:
        conn = _connect(Path(path))
    except sqlite3.Error:
        return None
    try:
        rows = conn.execute("SELECT case_id, archival_code FROM cases WHERE status = 'current' AND case_id IN "
                            f"({', '.join('?' * len(wanted))})", wanted).fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return dict(rows)
