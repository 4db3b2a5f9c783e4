"""The catalog database shared by the catalog, the ledger and the number register: SQLite or PostgreSQL.

One engine per database per process (a pool of connections). Reads run on a short connection of their own;
writes run in one transaction (`Database.write`), BEGIN IMMEDIATE on SQLite so a read-then-write cannot race
another process. On PostgreSQL, where writers sit on several machines, the modules take transaction-scoped
advisory locks for what must be serialised (`advisory_lock`): a case's versions, a number series, the ledger's
end. SQLite's write lock already serialises everything, so there they cost nothing.
"""
from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .database import WRITE, CatalogLocation, make_engine

_ENGINES: dict[tuple, object] = {}
_CURRENT: set[tuple] = set()
_LOCK = threading.Lock()

# Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)).
LOCK_LEDGER = 1
LOCK_CASE = 2
LOCK_NUMBERS = 3
LOCK_PLANS = 4
LOCK_BLOB_DELETION = 5


def as_location(target) -> CatalogLocation:
    """A CatalogLocation, or a path taken as a SQLite catalog file."""
    if isinstance(target, CatalogLocation):
        return target
    return CatalogLocation("sqlite", path=Path(target))


class Database:
    """A catalog database: where it is, its engine, and the schema brought up to date on first use."""

    def __init__(self, target):
        self.location = as_location(target)
        key = (os.getpid(), str(self.location.sqlalchemy_url().render_as_string(hide_password=False)))
        with _LOCK:
            engine = _ENGINES.get(key)
            if engine is None:
                engine = _ENGINES[key] = make_engine(self.location)
        self.engine = engine
        if key not in _CURRENT:
            from .migrate import ensure_current

            if self.location.is_sqlite:
                self.location.path.parent.mkdir(parents=True, exist_ok=True)
            ensure_current(engine, self.location.describe())
            _CURRENT.add(key)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator:
        """One transaction: committed when the block ends, rolled back whole if it raises."""
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            yield conn


def advisory_lock(conn, kind: int, key: str | int = 0, *, shared: bool = False) -> None:
    """Hold a PostgreSQL advisory lock until the transaction ends (many holders when `shared`, else one);
    a no-op on SQLite, whose write transactions (BEGIN IMMEDIATE) already exclude each other."""
    if conn.dialect.name != "postgresql":
        return
    number = key if isinstance(key, int) else zlib.crc32(key.encode("utf-8")) - (1 << 31)
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    conn.exec_driver_sql(f"SELECT {function}(%(kind)s, %(key)s)", {"kind": kind, "key": number})


def dispose_all() -> None:
    """Close every pooled connection (tests that drop databases, and forked children)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _CURRENT.clear()
