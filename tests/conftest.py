"""Shared fixtures: the bundled example cases, copied so a test may change them."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from archive_store.actors import Actor, Role
from tests import backend

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EXAMPLE_NAMES = ["institution-onsite", "bureau-video", "refused-to-sign"]


def person(name: str, role: Role = Role.archivist) -> Actor:
    """Who acts in a test: a named account, as an archivist unless said otherwise."""
    return Actor(name=name, role=role)


def load_example(name: str) -> dict:
    return json.loads((EXAMPLES / name / "case.json").read_text(encoding="utf-8"))


@pytest.fixture
def make_case(tmp_path: Path) -> Callable[..., Path]:
    """Copy an example into tmp_path, let `change` edit its JSON, and return the folder."""
    counter = iter(range(1000))

    def make(name: str = "institution-onsite", change: Callable[[dict], object] | None = None,
             raw: bytes | None = None) -> Path:
        folder = tmp_path / f"{name}-{next(counter)}"
        shutil.copytree(EXAMPLES / name, folder)
        if raw is not None:
            (folder / "case.json").write_bytes(raw)
        elif change is not None:
            data = load_example(name)
            change(data)
            (folder / "case.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        return folder

    return make


def tree_snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes, to prove a command wrote nothing."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def private_tempdir(tmp_path, monkeypatch):
    """A private temp root, so a test proves that no temporary folder is left behind."""
    root = tmp_path / "tmp-root"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root
    assert list(root.iterdir()) == [], "a temporary folder was left behind"


@pytest.fixture(scope="session")
def converter():
    """One running LibreOffice (PDF/A-checked) for every test that converts in-process; tests that start, kill
    or hang LibreOffice make their own."""
    from pipeline.pdf.pdfa import pdfa_converter

    with pdfa_converter() as running:
        yield running


def shared_across_workers(tmp_path_factory, name: str) -> Path:
    """A folder all pytest-xdist workers of this run share (the run's base temp folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base / name


@pytest.fixture(scope="session")
def example_archive(tmp_path_factory, prepare_home):
    """An archive home holding the three examples, ingested once per test run (the slow part), by whichever
    xdist worker asks first; the others wait for it and read the same home.

    Tests that change the archive copy it first (`archive_copy`). On PostgreSQL each worker makes its own: each
    has its own cluster (tests/backend.py), which ends with the worker."""
    from archive_store.durable import file_lock
    from archive_store.home import open_home
    from pipeline.records.ingest import ingest_cases
    from pipeline.records.setup import init_home

    folder = (tmp_path_factory.getbasetemp() / "example-archive" if backend.on_postgresql()
              else shared_across_workers(tmp_path_factory, "example-archive"))
    with file_lock(folder.with_name("example-archive.lock")):
        if (folder / "done").is_file():
            return open_home(folder / "home")
        shutil.rmtree(folder, ignore_errors=True)
        home, _ = init_home(prepare_home(folder / "home"))
        results = ingest_cases([EXAMPLES / name for name in EXAMPLE_NAMES], home=home, actor=person("测试档案员"))
        assert [r.status for r in results] == ["ingested"] * 3, [r.message for r in results]
        (folder / "done").touch()
        return home


@pytest.fixture
def archive_copy(example_archive, tmp_path, request):
    """A private copy of the example archive, for tests that damage or change it."""
    from archive_store.home import open_home

    dest = tmp_path / "home"
    shutil.copytree(example_archive.path, dest)
    location = example_archive.catalog_location
    if not location.is_sqlite:          # the copy gets its own copy of the database too
        from archive_store.db import dispose_all
        from archive_store.home import SETTINGS_FILE

        dispose_all()
        copy = new_pg_catalog(request.getfixturevalue("postgres"), template=location.database)
        settings = (dest / SETTINGS_FILE).read_text(encoding="utf-8")
        (dest / SETTINGS_FILE).write_text(settings.replace(catalog_settings_for(location), catalog_settings_for(copy)),
                                          encoding="utf-8")
    return open_home(dest)


@pytest.fixture(scope="session")
def example_dossiers(example_archive, tmp_path_factory) -> dict[str, Path]:
    """The sealed dossier of each example, written out of the archive: {example name: path}."""
    from pipeline.records.lookup import open_dossier

    folder = tmp_path_factory.mktemp("dossiers")
    dossiers = {}
    for name in EXAMPLE_NAMES:
        dossiers[name] = folder / f"{name}.pdf"
        open_dossier(example_archive, load_example(name)["case_id"], dossiers[name])
    return dossiers


# --- servers: PostgreSQL 15 and moto's S3, started once per session when a test asks -------------------------
# (--catalog and the `catalog` marker are defined in the root conftest.py; the cluster lives in tests/backend.py)

@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL 15 cluster in a temp folder, run as `postgres`; stopped and removed at the end of
    the run (the same cluster the homes of a --catalog postgresql run use)."""
    from tests.services import postgres_available

    why = postgres_available()
    if why:                 # only when the programs are missing (make test installs them): skipped, said why
        pytest.skip(why)
    return backend.cluster()


@pytest.fixture
def pg_database(postgres, request):
    """A fresh, empty database in the session's cluster: its name."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres.create_database(name)
    return name


@pytest.fixture(scope="session")
def moto_s3():
    """moto's S3 server on a free loopback port, for the session."""
    from tests.services import moto_server_path, start_moto

    if moto_server_path() is None:
        pytest.skip("moto_server 未安装（pip 安装 moto[server]；make test 会装好）")
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto_s3, monkeypatch):
    """A new Object Lock bucket, with the credentials in the environment as a deployment has them."""
    for key, value in moto_s3.env().items():
        monkeypatch.setenv(key, value)
    return moto_s3.create_locked_bucket(f"yuetan-{uuid.uuid4().hex[:20]}")


# --- the catalog backend: SQLite by default, PostgreSQL with --catalog postgresql ----------------------------

PG_PASSWORD_ENV = backend.PG_PASSWORD_ENV
new_pg_catalog = backend.new_pg_catalog
catalog_settings_for = backend.catalog_settings_for


@pytest.fixture(scope="session")
def pg_template(postgres):
    """The session's cluster with a migrated database to copy per test."""
    return backend.template_cluster()


_CLEAN_DATABASES: list = []
_TABLES = ("cases, documents, findings, holds, tombstones, destruction_plans, ledger, notice_numbers, approvals, "
           "kept_exports, archival_codes")


@pytest.fixture
def catalog_target(catalog_backend, request, tmp_path):
    """Where a test's catalog lives: a SQLite file, or an empty PostgreSQL database (--catalog postgresql).

    PostgreSQL databases are emptied after the test and reused (TRUNCATE with the ledger's guards off for the
    session), since creating one costs half a second."""
    if catalog_backend != "postgresql":
        yield tmp_path / "catalog.sqlite"
        return
    pg_template = request.getfixturevalue("pg_template")
    location = _CLEAN_DATABASES.pop() if _CLEAN_DATABASES else new_pg_catalog(pg_template)
    yield location
    try:
        pg_template.execute(f"SET session_replication_role = replica; TRUNCATE {_TABLES} RESTART IDENTITY",
                            database=location.database)
        guards = pg_template.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ledger'::regclass "
                                     "AND NOT tgisinternal AND tgenabled <> 'D'", database=location.database)
    except Exception:  # noqa: BLE001 - a database still busy is simply not reused
        return
    if guards == [(3,)]:                # a test that dropped the ledger's guards leaves its database unused
        _CLEAN_DATABASES.append(location)


SLOW_FIXTURES = {"example_archive", "archive_copy", "example_dossiers", "converter"}
# A test that makes or uses an archive home gets one of these (the home fixtures, new_home, prepare_home before a
# `yuetan init`, or a catalog of its own); the web tests all use the session's home, whose database is Django's.
CATALOG_FIXTURES = {"catalog_target", "prepare_home", "new_home", "example_archive", "archive_copy",
                    "example_dossiers"}
WEB_TESTS = ROOT / "pipeline" / "web"


def pytest_collection_modifyitems(config, items):
    """Tests that need LibreOffice or the ingested examples are `slow`: `pytest -m "not slow"` leaves them out
    for a quick look while developing (make test runs everything). Tests that make or use an archive home are
    `catalog`, from the fixtures they use: `--catalog postgresql -m catalog` runs just them on PostgreSQL."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
        if CATALOG_FIXTURES & fixtures or WEB_TESTS in Path(item.fspath).parents:
            item.add_marker(pytest.mark.catalog)
