"""The role × view matrix: every URL of the site (pages and JSON API, GET and POST) against every role and an
anonymous visitor. Whether a role may pass is read from the core's table (pipeline.records.authority) through the
permission each view declares; a view without a declared permission fails the first test."""
from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from pipeline.api.authority import ROLES, acting_role
from pipeline.web.conftest import ROLE_ACCOUNT
from pipeline.web.permissions import PUBLIC, SIGNED_IN

SKIP_PREFIXES = ("admin/",)          # Django's admin: walked by test_admin_is_for_the_two_account_administrators


def site_urls() -> list[tuple[str, object]]:
    """(route, view) for every URL pattern of the site."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern)
            if route.startswith(SKIP_PREFIXES):
                continue
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern):
                found.append((route, p.callback))
    walk(get_resolver().url_patterns, "")
    return found


def sample_url(route: str, samples: dict[str, str]) -> str:
    """The route with each <converter:name> filled from the samples."""
    def fill(match):
        name = match.group(2)
        if name not in samples:
            raise AssertionError(f"no sample value for <{name}> in {route}")
        return str(samples[name])
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


@pytest.fixture(scope="module")
def samples(stored_cases) -> dict[str, str]:
    return {"reference": stored_cases["recent"], "case_id": stored_cases["recent"], "page": "1", "job_id": "1",
            "plan_id": "NONE-1", "export_id": "NONE-1", "name": "plan.json", "credit_code": "91360100MA35000012", "path": "nothing",
            "year": "1999", "handover_id": "YJ-1999-00000000000000000000"}


def test_every_view_declares_its_permission():
    missing = [route for route, view in site_urls() if not hasattr(view, "permission")]
    assert not missing, f"views without a declared permission: {missing}"


def expected_to_pass(view, role: str | None) -> bool:
    permission = view.permission
    if permission == PUBLIC:
        return True
    if role is None:
        return False
    if permission == SIGNED_IN:
        return True
    return acting_role({role}, permission) is not None


@pytest.mark.parametrize("method", ["get", "post"])
def test_role_view_matrix(method, accounts, stored_cases, samples, client_for):
    """Each cell: an allowed role is let in (anything but 401/403, never 500); a refused role gets 403;
    an anonymous visitor is sent to the login page (pages) or gets 401 (API)."""
    clients = {role: client_for(ROLE_ACCOUNT[role]) for role in ROLES}
    clients[None] = client_for(None)
    failures = []
    cells = 0
    for route, view in site_urls():
        if route.startswith("logout/") or getattr(view, "matrix_skip", False):
            continue
        methods = getattr(view, "methods", ("get", "post"))
        if method not in methods:
            continue
        url = sample_url(route, samples)
        for role, client in clients.items():
            cells += 1
            response = getattr(client, method)(url)
            status = response.status_code
            if status >= 500:
                failures.append(f"{method.upper()} {url} as {role}: {status}")
            elif expected_to_pass(view, role):
                if status in (401, 403):
                    failures.append(f"{method.upper()} {url} as {role}: refused ({status}), should pass")
            elif role is None:
                api = url.startswith("/api/")
                ok = status == 401 if api else status == 302 and response["Location"].startswith("/login/")
                if not ok:
                    failures.append(f"{method.upper()} {url} anonymous: {status}, should be sent to log in")
            elif status != 403:
                failures.append(f"{method.upper()} {url} as {role}: {status}, should be 403")
    assert cells > 0
    assert not failures, "\n".join(failures)


def test_admin_is_for_the_two_account_administrators(accounts, client_for):
    for role in ROLES:
        status = client_for(ROLE_ACCOUNT[role]).get("/admin/auth/user/").status_code
        if role in ("sysadmin", "secadmin"):
            assert status == 200, role
        else:
            assert status == 302, role        # the admin sends everyone else to its own login
    assert client_for("sys").get("/admin/auth/user/add/").status_code == 200
    assert client_for("sec").get("/admin/auth/user/add/").status_code == 403
    assert client_for("sec").get("/admin/axes/accessattempt/").status_code == 403
