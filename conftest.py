"""The suite's one option, here at the root so that it exists whichever test folder a run names:
`--catalog sqlite|postgresql` (also $YUETAN_TEST_CATALOG) puts every archive home the tests make on that
backend (tests/backend.py)."""
from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--catalog", choices=["sqlite", "postgresql"],
                     default=os.environ.get("YUETAN_TEST_CATALOG", "sqlite"),
                     help="catalog backend for every test that makes or uses an archive home "
                          "(also $YUETAN_TEST_CATALOG); the tests that do are marked `catalog` automatically")


@pytest.hookimpl(tryfirst=True)       # before the web tests' conftest makes its home in its pytest_configure
def pytest_configure(config):
    from tests import backend

    backend.BACKEND = config.getoption("--catalog")
    config.addinivalue_line("markers", "catalog: makes or uses an archive home, so runs on the backend chosen by "
                                       "--catalog (marked by tests/conftest.py from the fixtures a test uses)")


def pytest_sessionfinish(session):
    """The cluster is stopped and its folder removed here, while the run (or xdist worker) is still in its
    session: from pytest_unconfigure a worker was sometimes gone before the folder was removed."""
    from tests import backend

    backend.shutdown()


# --- fixtures every test folder (tests/ and the web application's) can use ------------------------------------

@pytest.fixture(scope="session")
def catalog_backend(request) -> str:
    return request.config.getoption("--catalog")


@pytest.fixture(scope="session")
def prepare_home(catalog_backend):
    """prepare_home(path) before `init` (in-process or `yuetan init` in a subprocess): on PostgreSQL it writes
    the new home's yuetan.toml with a fresh database of its own; on SQLite it does nothing. Returns the path."""
    from tests import backend
    from tests.services import postgres_available

    if catalog_backend == "postgresql":
        why = postgres_available()
        if why:
            pytest.skip(why)
        backend.template_cluster()
    return backend.prepare_home


@pytest.fixture
def new_home(prepare_home):
    """new_home(path) → a new archive home (as `yuetan init` makes it) on the backend under test."""
    from tests.stored_cases import new_home as make

    return make
