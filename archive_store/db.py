"""SQLite connections shared by the catalog and the number registry: WAL, waits instead of failing."""
from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ArchiveConflict, ArchiveDamaged, ConfigurationError, YuetanError

BUSY_TIMEOUT_MS = 60_000


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front, so read-then-write cannot race another process."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:        # SQLite may already have rolled back (e.g. disk full)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


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
