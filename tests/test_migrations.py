"""One schema (archive_store/schema.py), built by Alembic revisions on SQLite and on a real PostgreSQL 15;
a catalog written before Alembic is adopted as it is, its data intact."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from archive_store import migrate
from archive_store.database import CatalogLocation, make_engine
from archive_store.errors import ConfigurationError
from archive_store.schema import metadata

DATA = Path(__file__).parent / "data"


def schema_differences(engine) -> list:
    """What Alembic's autogenerate would change to make the database match schema.py (nothing, we want)."""
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    return [d for d in diffs if not (d[0] == "remove_table" and d[1].name == "alembic_version")
            and not _rowid_alias(engine, d)]


def _rowid_alias(engine, diff) -> bool:
    """SQLite's INTEGER PRIMARY KEY is the rowid, never NULL, but reflects as nullable when the old DDL did
    not say NOT NULL (holds.id, ledger.seq): not a difference."""
    if engine.dialect.name != "sqlite" or not isinstance(diff, list) or diff[0][0] != "modify_nullable":
        return False
    return (diff[0][2], diff[0][3]) in {("holds", "id"), ("ledger", "seq")}


def pg_engine(postgres, database):
    location = CatalogLocation("postgresql", host="127.0.0.1", port=postgres.port, database=database,
                               user=postgres.user, password=postgres.password)
    return make_engine(location)


def sqlite_engine(path: Path):
    return make_engine(CatalogLocation("sqlite", path=path))


def refused(engine, sql: str) -> bool:
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    except sa.exc.DBAPIError as exc:
        return "账本只能追加" in str(exc)
    return False


def insert_ledger_row(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO ledger (seq, at, actor, action, case_id, details, prev_hash, entry_hash) "
                             "VALUES (1, '2025-01-01T00:00:00+08:00', 'a', 'ingest', NULL, '{}', :z, :h)"),
                     {"z": "0" * 64, "h": "1" * 64})


def test_sqlite_from_nothing_matches_the_schema(tmp_path):
    engine = sqlite_engine(tmp_path / "catalog.sqlite")
    result = migrate.upgrade(engine)
    assert (result.before, result.after) == (None, migrate.head_revision())
    assert schema_differences(engine) == []
    insert_ledger_row(engine)
    assert refused(engine, "UPDATE ledger SET actor = 'b'")
    assert refused(engine, "DELETE FROM ledger")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA user_version").scalar() == migrate.SQLITE_USER_VERSION
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert not migrate.upgrade(engine).changed


def test_postgresql_from_nothing_matches_the_schema(postgres, pg_database):
    engine = pg_engine(postgres, pg_database)
    migrate.upgrade(engine)
    assert schema_differences(engine) == []
    insert_ledger_row(engine)
    assert refused(engine, "UPDATE ledger SET actor = 'b'")
    assert refused(engine, "DELETE FROM ledger")
    assert refused(engine, "TRUNCATE ledger")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM ledger").scalar() == 1
    assert not migrate.upgrade(engine).changed
    engine.dispose()


def test_a_postgresql_catalog_is_only_changed_by_migrate(postgres, pg_database):
    engine = pg_engine(postgres, pg_database)
    with pytest.raises(ConfigurationError) as refused_open:
        migrate.ensure_current(engine, "测试库")
    assert "yuetan migrate" in refused_open.value.message
    with engine.connect() as conn:
        assert not sa.inspect(conn).get_table_names()
    migrate.upgrade(engine)
    migrate.ensure_current(engine, "测试库")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ConfigurationError) as newer:
        migrate.ensure_current(engine, "测试库")
    assert "升级本节点" in newer.value.message
    engine.dispose()


@pytest.mark.parametrize("user_version", [1, 2])
def test_a_catalog_from_before_alembic_is_adopted_with_its_data(tmp_path, user_version):
    """Version 1 (the first catalogs) and 2 (the ledger's role column added by hand-written steps)."""
    path = tmp_path / "catalog.sqlite"
    old = sqlite3.connect(path)
    old.executescript((DATA / "catalog-before-alembic.sql").read_text(encoding="utf-8"))
    if user_version == 2:
        old.execute("ALTER TABLE ledger ADD COLUMN role TEXT")
    old.execute(f"PRAGMA user_version = {user_version}")
    before = {t: old.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
              for t in ("cases", "documents", "findings", "holds", "ledger", "notice_numbers")}
    old.close()
    assert before["cases"] and before["ledger"] and before["notice_numbers"]

    engine = sqlite_engine(path)
    migrate.ensure_current(engine, str(path))           # a single office: upgraded when opened
    assert schema_differences(engine) == []
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        for table, rows in before.items():
            now = [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2")]
            if table == "ledger" and user_version == 1:
                now = [r[:-1] for r in now if r[-1] is None]          # the role column is new, empty
            assert now == rows
    assert refused(engine, "DELETE FROM ledger")


def test_an_older_yuetan_refuses_the_migrated_catalog_and_a_newer_catalog_is_refused(tmp_path):
    path = tmp_path / "catalog.sqlite"
    engine = sqlite_engine(path)
    migrate.upgrade(engine)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] > 1       # what releases before Alembic check
        conn.execute("PRAGMA user_version = 7")
    with pytest.raises(ConfigurationError) as newer:
        migrate.upgrade(engine)
    assert "请升级 yuetan" in newer.value.message
