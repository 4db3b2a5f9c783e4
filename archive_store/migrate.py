"""The catalog's schema versions (Alembic): `yuetan migrate` brings a database to the newest revision.

A SQLite catalog is brought up to date when it is opened (a single office has no one to run migrate), under
SQLite's write lock. A PostgreSQL catalog, shared by several nodes, is only changed by `yuetan migrate`: a node
finding an older schema refuses to start and says so, instead of racing the other nodes to change it.
Catalogs made before Alembic (SQLite at `PRAGMA user_version` 1 to 4: the ledger's role, approvals and kept
exports, the 档号) are adopted by the revisions that match those steps, which create only what is missing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigurationError

# user_version of a SQLite catalog managed by Alembic: yuetan releases from before it (whose hand-written steps
# reached user_version 4) refuse it instead of writing to a schema they do not know. Well above any
# hand-written step, so none can ever be mistaken for it.
SQLITE_USER_VERSION = 100
_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x79756574616E     # "yuetan": one migrate at a time per database
_REVISION = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision\s*=\s*(?:None|["\']([^"\']+)["\'])\s*$', re.MULTILINE)


@dataclass(frozen=True)
class MigrationResult:
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def engine_for(location):
    """A short-lived engine for `yuetan migrate` (not the process's pool: the schema may be about to change)."""
    from .database import make_engine

    if location.is_sqlite:
        location.path.parent.mkdir(parents=True, exist_ok=True)
    return make_engine(location)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(conn) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine) -> MigrationResult:
    """Bring the catalog to the newest revision in one transaction (DDL is transactional on both databases)."""
    from alembic import command

    from .database import WRITE

    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        else:
            _refuse_newer_sqlite(conn)
        before = current_revision(conn)
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        after = current_revision(conn)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA user_version = {SQLITE_USER_VERSION}")
    return MigrationResult(before, after)


def _head_from_scripts() -> str | None:
    """The newest revision, read from the revision files' `revision =` and `down_revision =` lines without
    loading Alembic (a tenth of a second of every command's start); None unless there is exactly one head."""
    revisions, parents = set(), set()
    for script in _MIGRATIONS.joinpath("versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        found = _REVISION.search(text)
        if found is None:
            continue
        revisions.add(found.group(1))
        parent = _DOWN_REVISION.search(text)
        if parent is None:
            return None
        if parent.group(1) is not None:
            parents.add(parent.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _sqlite_is_current(conn) -> bool:
    """A SQLite catalog already at the newest revision, seen with two plain queries (the usual case at open)."""
    (user_version,) = conn.exec_driver_sql("PRAGMA user_version").fetchone()
    if user_version != SQLITE_USER_VERSION:
        return False
    if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").first() \
            is None:
        return False
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    head = _head_from_scripts()
    return head is not None and len(rows) == 1 and rows[0][0] == head


def ensure_current(engine, where: str) -> None:
    """Open-time check: SQLite is upgraded in place; PostgreSQL must already be at the newest revision."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            if _sqlite_is_current(conn):
                return
            _refuse_newer_sqlite(conn)
        found = current_revision(conn)
    head = head_revision()
    if found == head:
        return
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    if found is None:
        raise ConfigurationError(f"目录数据库 {where} 尚未建立档案库的表：请先运行 yuetan migrate")
    if not _known(found):
        raise ConfigurationError(f"目录数据库 {where} 的结构版本 {found} 比本程序新：请升级本节点的 yuetan")
    raise ConfigurationError(f"目录数据库 {where} 的结构版本为 {found}，本程序需要 {head}：请运行 yuetan migrate")


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


def _refuse_newer_sqlite(conn) -> None:
    (found,) = conn.exec_driver_sql("PRAGMA user_version").fetchone()
    if found > SQLITE_USER_VERSION:
        raise ConfigurationError(f"档案库目录的结构版本为 {found}，比本程序支持的 {SQLITE_USER_VERSION} 新：请升级 yuetan")
    revision = current_revision(conn)
    if revision is not None and not _known(revision):
        raise ConfigurationError(f"档案库目录的结构版本 {revision} 比本程序新：请升级 yuetan")
