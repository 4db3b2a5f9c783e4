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
    not say NOT NULL (holds.id, ledger.seq, approvals.id): not a difference."""
    if engine.dialect.name != "sqlite" or not isinstance(diff, list) or diff[0][0] != "modify_nullable":
        return False
    return (diff[0][2], diff[0][3]) in {("holds", "id"), ("ledger", "seq"), ("approvals", "id")}


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


# The hand-written schema steps 3 and 4 of the last releases before Alembic, as they were
# (archive_store/catalog.py at main b2de51c), with a few rows each: steps 1 and 2 are the dump's schema and the
# ledger's role column.
STEP_3 = """
CREATE TABLE IF NOT EXISTS approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subject       TEXT NOT NULL CHECK (subject IN ('destruction_plan', 'export')),
    subject_id    TEXT NOT NULL,
    step          TEXT NOT NULL CHECK (step IN ('review', 'witness')),
    requester     TEXT NOT NULL,
    reviewer      TEXT NOT NULL,
    reviewer_role TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('approved', 'rejected', 'witnessed')),
    reason        TEXT NOT NULL,
    at            TEXT NOT NULL,
    ledger_seq    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_subject ON approvals (subject, subject_id);
CREATE TABLE IF NOT EXISTS kept_exports (
    export_id   TEXT PRIMARY KEY,
    file        TEXT NOT NULL,
    zip_sha256  TEXT NOT NULL,
    cases       INTEGER NOT NULL,
    filters     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    grantee     TEXT NOT NULL,
    until       TEXT NOT NULL,
    ledger_seq  INTEGER NOT NULL
);
INSERT INTO approvals (subject, subject_id, step, requester, reviewer, reviewer_role, status, reason, at, ledger_seq)
    VALUES ('export', 'EXP-1', 'review', '档案员', '审批人', 'approver', 'approved', '同意', '2025-06-01T08:00:00+00:00', 2);
INSERT INTO kept_exports VALUES ('EXP-1', 'exports/EXP-1.zip', '""" + "a" * 64 + """', 1, '{}', '档案员',
    '2025-06-01T07:00:00+00:00', 'inspector1', '2099-01-01', 2);
"""
STEP_4 = """
ALTER TABLE cases ADD COLUMN archival_code TEXT;
CREATE INDEX IF NOT EXISTS cases_archival_code ON cases (archival_code);
CREATE TABLE IF NOT EXISTS archival_codes (
    series      TEXT    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    code        TEXT    NOT NULL UNIQUE,
    case_id     TEXT    NOT NULL UNIQUE,
    year        INTEGER NOT NULL,
    recorded_at TEXT    NOT NULL,
    PRIMARY KEY (series, seq)
);
CREATE INDEX IF NOT EXISTS archival_codes_year ON archival_codes (year);
INSERT INTO archival_codes VALUES ('J036-WS·2025-D6-JCK-#', 1, 'J036-WS·2025-D6-JCK-0001', 'JX-2025-0001', 2025,
    '2025-05-06T02:00:00+00:00');
UPDATE cases SET archival_code = 'J036-WS·2025-D6-JCK-0001' WHERE case_id = 'JX-2025-0001';
"""
# Step 5 (hardening): the archive's identity, which the ledger-head mirror repeats; the register's note column was
# added when the register was first opened.
STEP_5 = """
CREATE TABLE IF NOT EXISTS archive_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO archive_meta VALUES ('archive_id', 'a1b2c3d4e5f60718293a4b5c6d7e8f90');
ALTER TABLE notice_numbers ADD COLUMN note TEXT;
"""
TABLES = ("cases", "documents", "findings", "holds", "tombstones", "destruction_plans", "ledger", "notice_numbers",
          "approvals", "kept_exports", "archival_codes", "archive_meta")


def old_catalog(path: Path, user_version: int) -> dict:
    """A catalog as the hand-written steps left it at `user_version`; returns its rows by table, column by column."""
    old = sqlite3.connect(path)
    old.executescript((DATA / "catalog-before-alembic.sql").read_text(encoding="utf-8"))
    if user_version >= 2:
        old.execute("ALTER TABLE ledger ADD COLUMN role TEXT")
    if user_version >= 3:
        old.executescript(STEP_3)
    if user_version >= 4:
        old.executescript(STEP_4)
    if user_version >= 5:
        old.executescript(STEP_5)
    old.execute(f"PRAGMA user_version = {user_version}")
    rows = table_rows(old)
    old.close()
    return rows


def table_rows(conn) -> dict:
    """{table: [{column: value}]} of every catalog table the database has."""
    found = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    out = {}
    for table in TABLES:
        if table in found:
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
            names = [d[0] for d in cursor.description]
            out[table] = [dict(zip(names, row)) for row in cursor]
    return out


@pytest.mark.parametrize("user_version", [1, 2, 3, 4, 5])
def test_a_catalog_from_before_alembic_is_adopted_with_its_data(tmp_path, user_version):
    """Every user_version the hand-written steps reached: 1 (the first catalogs), 2 (the ledger's role), 3
    (approvals, kept exports), 4 (the 档号): adopted as they are, every row and column kept."""
    path = tmp_path / "catalog.sqlite"
    before = old_catalog(path, user_version)
    assert before["cases"] and before["ledger"] and before["notice_numbers"]
    assert ("approvals" in before) == (user_version >= 3) and ("archival_codes" in before) == (user_version >= 4)
    assert ("archive_meta" in before) == (user_version >= 5)

    engine = sqlite_engine(path)
    migrate.ensure_current(engine, str(path))           # a single office: upgraded when opened
    assert schema_differences(engine) == []
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        assert conn.exec_driver_sql("PRAGMA user_version").scalar() == migrate.SQLITE_USER_VERSION
    with sqlite3.connect(path) as conn:
        after = table_rows(conn)
    assert set(after) == set(TABLES)
    for table, rows in before.items():
        kept = [{column: row[column] for column in rows[0]} for row in after[table]] if rows else after[table]
        assert kept == rows, table
        new_columns = set(after[table][0]) - set(rows[0]) if rows else set()
        assert all(row[c] is None for row in after[table] for c in new_columns), table   # added, empty
    assert refused(engine, "DELETE FROM ledger")
    engine.dispose()


def test_a_catalog_written_by_main_before_alembic_works_as_before(tmp_path):
    """A real catalog at user_version 4, written by the last release's own code (tests/data/catalog-main-v4.sql):
    opened through a home, it keeps its ledger chain, 档号, approvals, kept export, holds and numbers, and the
    registers go on from where they were."""
    from datetime import date

    from archive_store import ledger
    from archive_store.arrangement import archival_code_for, registered_codes
    from archive_store.home import DEFAULT_SETTINGS, open_home
    from pipeline.records import approvals

    from .conftest import person

    home_path = tmp_path / "home"
    home_path.mkdir()
    (home_path / "yuetan.toml").write_text(DEFAULT_SETTINGS, encoding="utf-8")
    with sqlite3.connect(home_path / "catalog.sqlite") as old:
        old.executescript((DATA / "catalog-main-v4.sql").read_text(encoding="utf-8"))
        old.execute("PRAGMA user_version = 4")
        before = table_rows(old)
    old.close()
    home = open_home(home_path)
    with home.catalog() as catalog:
        assert ledger.verify_chain(catalog) == []
        assert len(ledger.entries(catalog)) == len(before["ledger"]) == 13
        record = catalog.by_archival_code("J036-WS·2025-D6-JCK-0001")
        assert (record.case_id, record.version, record.status) == ("JX-OLD-2025-002", 2, "current")
        assert catalog.is_held("JX-OLD-2025-002")
        assert [c.code for c in registered_codes(catalog, year=2018)] == ["J036-WS·2018-D6-JCK-0001"]
        assert archival_code_for(catalog, "JX-OLD-2025-002", year=2025,
                                 settings=home.settings.arrangement).code == "J036-WS·2025-D6-JCK-0001"
        assert archival_code_for(catalog, "JX-NEW-2025-009", year=2025,
                                 settings=home.settings.arrangement).code == "J036-WS·2025-D6-JCK-0002"
        ledger.append(catalog, action="hold", actor=person("档案员"), case_id="JX-OLD-2018-001",
                      details={"reason": "新账目接在旧链之后"})
        assert ledger.verify_chain(catalog) == []
    with home.numbers() as numbers:
        assert numbers.holder("赣市监检约〔2025〕2号") == "JX-OLD-2025-002"
        assert numbers.allocate("赣市监检约", 2025, "JX-NEW-2025-009") == "赣市监检约〔2025〕4号"
    (plan,) = approvals.plans(home)
    assert (plan.state, plan.approver, plan.witnesses) == ("witnessed", "审批人", ["监销一", "监销二"])
    (export,) = approvals.exports(home)
    assert (export.state, export.grantee, export.approver) == ("approved", "inspector1", "审批人")
    assert approvals.export_state(home, export.export_id, today=date(2100, 1, 1)).state == "expired"
    with sqlite3.connect(home_path / "catalog.sqlite") as conn:
        after = table_rows(conn)
    for table, rows in before.items():
        kept = [{column: row[column] for column in rows[0]} for row in after[table][:len(rows)]] if rows else []
        assert kept == rows, table


def test_an_older_yuetan_refuses_the_migrated_catalog_and_a_newer_catalog_is_refused(tmp_path):
    path = tmp_path / "catalog.sqlite"
    engine = sqlite_engine(path)
    migrate.upgrade(engine)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] > 4       # what releases before Alembic check
        conn.execute(f"PRAGMA user_version = {migrate.SQLITE_USER_VERSION + 1}")
    with pytest.raises(ConfigurationError) as newer:
        migrate.upgrade(engine)
    assert "请升级 yuetan" in newer.value.message


def test_the_open_time_check_reads_the_same_head_as_alembic(tmp_path):
    """Opening a catalog compares its revision with the head read from the revision files without Alembic; that
    head must be Alembic's, and a catalog one step behind or ahead must still be upgraded or refused."""
    assert migrate._head_from_scripts() == migrate.head_revision()
    path = tmp_path / "catalog.sqlite"
    engine = sqlite_engine(path)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert migrate._sqlite_is_current(conn)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
    with engine.connect() as conn:
        assert not migrate._sqlite_is_current(conn)
    migrate.ensure_current(engine, str(path))                # brought up to the head again
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == migrate.head_revision()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ConfigurationError) as newer:
        migrate.ensure_current(engine, str(path))
    assert "比本程序新" in newer.value.message
