"""Shared fixtures: the bundled example cases, copied so a test may change them."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from archive_store.actors import Actor, Role

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
def example_archive(tmp_path_factory):
    """An archive home holding the three examples, ingested once per test run (the slow part), by whichever
    xdist worker asks first; the others wait for it and read the same home.

    Tests that change the archive copy it first (`archive_copy`)."""
    from archive_store.durable import file_lock
    from archive_store.home import open_home
    from pipeline.records.ingest import ingest_cases
    from pipeline.records.setup import init_home

    folder = shared_across_workers(tmp_path_factory, "example-archive")
    with file_lock(folder.with_name("example-archive.lock")):
        if (folder / "done").is_file():
            return open_home(folder / "home")
        shutil.rmtree(folder, ignore_errors=True)
        home, _ = init_home(folder / "home")
        results = ingest_cases([EXAMPLES / name for name in EXAMPLE_NAMES], home=home, actor=person("测试档案员"))
        assert [r.status for r in results] == ["ingested"] * 3, [r.message for r in results]
        (folder / "done").touch()
        return home


@pytest.fixture
def archive_copy(example_archive, tmp_path):
    """A private copy of the example archive, for tests that damage or change it."""
    from archive_store.home import open_home

    dest = tmp_path / "home"
    shutil.copytree(example_archive.path, dest)
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


SLOW_FIXTURES = {"example_archive", "archive_copy", "example_dossiers", "converter"}


def pytest_collection_modifyitems(config, items):
    """Tests that need LibreOffice or the ingested examples are `slow`: `pytest -m "not slow"` leaves them out
    for a quick look while developing (make test runs everything)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
