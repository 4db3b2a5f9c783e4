"""The catalog database shared by the catalog, the ledger and the number register: SQLite or PostgreSQL.

One engine per database per process (a pool of connections). Reads run on a short connection of their own;
writes run in one transaction (`Database.write`), BEGIN IMMEDIATE on SQLite so a read-then-write cannot race
another process. On PostgreSQL, where writers sit on several machines, the modules take transaction-scoped
advisory locks for what must be serialised (`advisory_lock`): a case's versions, a notice-number series, an
archival-code (档号) series, the ledger's end. SQLite's write lock already serialises everything, so there they cost nothing.
"""
from __future__ import annotations

import atexit
import errno
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .database import WRITE, CatalogLocation, make_engine
from .errors import ArchiveConflict, ArchiveDamaged, ConfigurationError, YuetanError

_ENGINES: dict[tuple, object] = {}
_CURRENT: set[tuple] = set()
_LOCK = threading.Lock()

# Advisory lock classes (the first key of pg_advisory_xact_lock(int, int)).
LOCK_LEDGER = 1
LOCK_CASE = 2
LOCK_NUMBERS = 3
LOCK_PLANS = 4
LOCK_BLOB_DELETION = 5
LOCK_ARCHIVAL_CODES = 6
LOCK_APPROVALS = 7


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


class _Lent:
    """Another owner's DBAPI connection, lent for the statements of one unit of work: committing, rolling back
    and closing stay with its owner (SQLAlchemy's calls to them do nothing)."""

    __slots__ = ("_raw",)

    def __init__(self, raw):
        object.__setattr__(self, "_raw", raw)

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def __setattr__(self, name, value):
        setattr(self._raw, name, value)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass

    def add_notice_handler(self, handler) -> None:
        pass                # SQLAlchemy's psycopg dialect adds one per connection: not to the owner's, again and again


_LENDERS: dict[str, object] = {}
_lending = threading.local()


@contextmanager
def lent(dbapi_connection) -> Iterator:
    """A SQLAlchemy connection on another owner's open DBAPI connection, inside the owner's transaction: what
    runs on it commits or rolls back with the owner's work (the web application's account changes and their
    ledger entries). sqlite3 and psycopg connections, as Django's backends hold them."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    module = type(dbapi_connection).__module__
    options: dict = {}
    if module.startswith("sqlite3"):
        url = "sqlite://"
    elif module.startswith("psycopg"):
        url = "postgresql+psycopg://"
        options["use_native_hstore"] = False     # its type lookup wants psycopg's own class, not the lent wrapper
    else:
        raise TypeError(f"cannot lend a {module}.{type(dbapi_connection).__name__} connection")
    with _LOCK:
        engine = _LENDERS.get(url)
        if engine is None:
            engine = _LENDERS[url] = create_engine(url, poolclass=NullPool, pool_reset_on_return=None,
                                                   creator=lambda: _Lent(_lending.connection), **options)
    _lending.connection = dbapi_connection
    try:
        with engine.connect() as conn:
            with conn.begin():
                yield conn
    finally:
        _lending.connection = None


def dispose_all() -> None:
    """Close every pooled connection (tests that drop databases, and forked children)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _CURRENT.clear()


# Closing the pooled connections at exit lets SQLite fold its WAL back into the catalog file (as the last
# connection to close does), so the file alone holds the archive's state between commands.
atexit.register(dispose_all)


def database_error(exc: BaseException, path: Path | None = None) -> YuetanError:
    """What an SQLite (or file) error on the archive's database means, in Chinese, with its exit status."""
    text = str(exc)
    lowered = text.lower()
    name = f"档案库的目录数据库 {path} " if path else "档案库的目录数据库"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "disk is full" in lowered \
            or ("disk i/o error" in lowered and _nearly_full(path)):
        return ConfigurationError(f"{name}所在磁盘空间已满，操作未完成、已撤销：请腾出空间后重试")
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered \
            or isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno == errno.EROFS):
        return ConfigurationError(f"无法读写{name}（{text}）：档案库文件夹须可写"
                                  "（SQLite 读取时也要写入其 -wal、-shm 文件），请检查权限或挂载方式")
    if "locked" in lowered or "busy" in lowered:
        return ArchiveConflict(f"{name}被另一进程长时间占用，请稍后重试")
    if type(exc) is sqlite3.DatabaseError or "malformed" in lowered or "not a database" in lowered:
        return ArchiveDamaged(f"{name}已损坏，无法读取（{text}）：请用 yuetan restore 从备份恢复")
    return ConfigurationError(f"{name}无法使用（{text}）")


def _nearly_full(path: Path | None) -> bool:
    """SQLite says only "disk I/O error" when it cannot even create its -shm file on a full disk."""
    import shutil

    try:
        return shutil.disk_usage(Path(path).parent if path else Path.cwd()).free < 1 << 20
    except OSError:
        return False
