"""The catalog backend the suite runs on: SQLite (default) or PostgreSQL (`--catalog postgresql`, also
$YUETAN_TEST_CATALOG), chosen once per run by the root conftest.py.

Kept out of the conftest files because the web tests configure Django (and so make their archive home) in
`pytest_configure`, before any fixture exists: they need the same cluster and the same way of pointing a new
home at a fresh database. One cluster per process (each xdist worker has its own), started on first use and
stopped at the end of the run (`shutdown`).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

PG_PASSWORD_ENV = "YUETAN_CATALOG_PASSWORD"
TEMPLATE = "yuetan_template"

BACKEND = os.environ.get("YUETAN_TEST_CATALOG", "sqlite")    # set from --catalog by the root conftest.py
_cluster = None
_template_ready = False


def on_postgresql() -> bool:
    return BACKEND == "postgresql"


def cluster():
    """The process's throw-away PostgreSQL 15 cluster (tests/services.py), started on first use."""
    global _cluster
    if _cluster is None:
        from tests.services import start_postgres

        _cluster = start_postgres()
    return _cluster


def template_cluster():
    """The cluster, with a migrated database to copy per home (CREATE DATABASE … TEMPLATE is much faster than
    migrating)."""
    global _template_ready
    running = cluster()
    if not _template_ready:
        from archive_store import migrate
        from archive_store.database import CatalogLocation, make_engine

        running.create_database(TEMPLATE)
        engine = make_engine(CatalogLocation("postgresql", host="127.0.0.1", port=running.port, database=TEMPLATE,
                                             user=running.user, password=running.password))
        migrate.upgrade(engine)
        engine.dispose()
        _template_ready = True
    return running


def shutdown() -> None:
    global _cluster, _template_ready
    if _cluster is not None:
        _cluster.stop()
    _cluster, _template_ready = None, False


def new_pg_catalog(running=None, template: str = TEMPLATE):
    """A new database copied from `template` (the migrated template by default): its CatalogLocation."""
    from archive_store.database import CatalogLocation

    running = running or template_cluster()
    name = running.create_database(f"t_{uuid.uuid4().hex[:16]}", template=template)
    return CatalogLocation("postgresql", host="127.0.0.1", port=running.port, database=name, user=running.user,
                           password=running.password)


def catalog_settings_for(location) -> str:
    """The [catalog] section a home's yuetan.toml needs for this location ('' for the SQLite default)."""
    if location is None or location.is_sqlite:
        return ""
    return (f'\n[catalog]\nurl = "postgresql://{location.user}@{location.host}:{location.port}/{location.database}"\n'
            f'password_env = "{PG_PASSWORD_ENV}"\n')


def prepare_home(path: Path) -> Path:
    """Before `init` (in-process or `yuetan init` in a subprocess): on PostgreSQL, write the new home's
    yuetan.toml with its catalog in a fresh database of its own (the password in the environment, which
    subprocesses inherit); on SQLite nothing, init writes the default settings. Returns the path."""
    path = Path(path)
    if on_postgresql():
        from archive_store.home import DEFAULT_SETTINGS, SETTINGS_FILE

        running = template_cluster()
        os.environ[PG_PASSWORD_ENV] = running.password
        path.mkdir(parents=True, exist_ok=True)
        (path / SETTINGS_FILE).write_text(DEFAULT_SETTINGS + catalog_settings_for(new_pg_catalog(running)),
                                          encoding="utf-8")
    return path


def sqlite_only(why: str):
    """Marks a test about SQLite itself (its file, `backup`/`restore` of it): skipped on PostgreSQL, saying why."""
    import pytest

    return pytest.mark.skipif(on_postgresql(), reason=f"only concerns a SQLite catalog: {why}")
