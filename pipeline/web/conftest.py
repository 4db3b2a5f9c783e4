"""The web tests' archive: one real archive home per test session (Django's settings are per process), with
Django's tables in its catalog database, one account per role, and a few stored cases."""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

PASSWORD = "yuetan-测试-口令-2025"
# account name → roles; two approvers and two archivists so that separation rules can be walked.
ACCOUNTS = {
    "sys": ["sysadmin"], "sec": ["secadmin"], "aud": ["auditor"], "arc": ["archivist"], "rea": ["reader"],
    "app": ["approver"], "ins": ["inspector"], "arc2": ["archivist"], "app2": ["approver"],
    "both": ["archivist", "approver"],
}
ROLE_ACCOUNT = {"sysadmin": "sys", "secadmin": "sec", "auditor": "aud", "archivist": "arc", "reader": "rea",
                "approver": "app", "inspector": "ins"}
_session_root: Path | None = None


def pytest_configure(config):
    """Django is configured for a fresh archive before any test module imports a model."""
    global _session_root
    import os

    # Playwright's sync API keeps an event loop in the test thread; the ORM calls the tests make there are
    # plain synchronous ones, which Django would otherwise refuse beside a running loop.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from pipeline.web import config as web_config
    from tests import backend

    if backend.on_postgresql() and getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return          # pytest-xdist's controller runs no test: no cluster for it
    _session_root = Path(tempfile.mkdtemp(prefix="yuetan-web-tests-"))
    home, _ = init_home(_session_root / "home")
    web_config.configure(home, testing=True)
    web_config.migrate()


def pytest_unconfigure(config):
    if _session_root is not None:
        shutil.rmtree(_session_root, ignore_errors=True)


def init_home(path: Path):
    """A new archive as `yuetan init` makes it, on the backend the suite runs on: (home, created)."""
    from pipeline import api
    from tests import backend

    if not (Path(path) / "yuetan.toml").exists():
        backend.prepare_home(path)
    api.init(path, actor=api.Actor(name="pytest", role=api.Role.console))
    return api.open_archive(path), True


@pytest.fixture(scope="session")
def web_home():
    from django.conf import settings

    from pipeline.api import open_archive

    return open_archive(Path(settings.YUETAN_HOME))


@pytest.fixture(scope="session")
def accounts(web_home) -> dict[str, str]:
    """One account per role (and a few more), all with PASSWORD; returns name → roles joined."""
    from django.contrib.auth.models import User

    from pipeline.web.accounts import service

    for name, roles in ACCOUNTS.items():
        if not User.objects.filter(username=name).exists():
            service.add_account(web_home, name, roles=roles, password=PASSWORD, full_name=f"测试{name}", by="pytest")
    return {name: "、".join(roles) for name, roles in ACCOUNTS.items()}


@pytest.fixture
def client_for(accounts):
    """A test client logged in as the named account (force_login: the password check is tested elsewhere)."""
    from django.contrib.auth.models import User
    from django.test import Client

    def make(name: str | None, *, csrf_checks: bool = False) -> Client:
        client = Client(enforce_csrf_checks=csrf_checks)
        if name is not None:
            client.force_login(User.objects.get(username=name))
        return client
    return make


@pytest.fixture(scope="session")
def stored_cases(web_home) -> dict[str, str]:
    """A few cases stored straight into the archive (no dossier build): name → case_id."""
    from datetime import date

    from tests.stored_cases import store_case

    cases = {"old": ("WEB-2017-001", date(2017, 6, 30)), "recent": ("WEB-2025-002", date(2025, 3, 31)),
             "other": ("WEB-2024-003", date(2024, 11, 30))}
    with web_home.catalog() as catalog:
        missing = [n for n, (cid, _) in cases.items() if catalog.current(cid) is None]
    for name in missing:
        case_id, closed = cases[name]
        store_case(web_home, case_id, closed, organizer="江西省市场监督管理局" if name != "other" else "九江市市场监督管理局",
                   region_code="360000" if name != "other" else "360400")
    return {name: cid for name, (cid, _) in cases.items()}


# --- the browser: real `yuetan serve` (gunicorn) and Debian's chromium driven by Playwright -------------------

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@contextmanager
def serving(home_path: Path, log_path: Path, *, workers: int = 2, extra: tuple[str, ...] = ()):
    """`yuetan serve` (real gunicorn) for `home_path` on a free loopback port: yields (url, process); stopped with
    SIGTERM to its process group (SIGKILL only if it does not stop within 30 s)."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([str(Path(sys.executable).with_name("yuetan")), "--home", str(home_path), "serve",
                               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *extra],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/login/", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("yuetan serve did not start:\n" + log_path.read_text()) from None
                time.sleep(0.2)
        yield url, server
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


@pytest.fixture(scope="session")
def live_server(web_home, accounts):
    """`yuetan serve` on a free loopback port, for the whole session."""
    with serving(web_home.path, web_home.path / "serve.log") as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    """Per module: Playwright's sync API runs an event loop in the test thread while it is open, and a test file
    that later runs asyncio in the same worker (the seal's tests) must not find it still running."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def person(browser, live_server):
    """person(name) → a logged-in page of their own (own cookies), as that person types it at the login form."""
    contexts = []

    def log_in(name: str, password: str = PASSWORD):
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 860},
                                      accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
        page.goto("/login/")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page
    yield log_in
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Saved under test-output/screenshots/ for a reviewer (the README shows a few)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
