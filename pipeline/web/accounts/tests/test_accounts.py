"""Accounts: login and its failures, lock-out, logout, CSRF, tokens, roles kept apart, the security headers,
Chinese error pages, the secret key, static files. Real Django, real SQLite (the archive's catalog file)."""
from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import User
from django.test import Client

from pipeline.api import ConfigurationError, InvalidArgument
from pipeline.web.accounts import service
from pipeline.web.accounts.models import AccessEvent, ApiToken
from pipeline.web.conftest import PASSWORD


def events(account: str, kind: str) -> int:
    return AccessEvent.objects.filter(account=account, kind=kind).count()


def test_login_with_the_password_and_the_access_log_records_it(accounts):
    before = events("rea", AccessEvent.LOGIN)
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200 and 'name="username"' in page.content.decode() and "登录" in page.content.decode()
    response = client.post("/login/", {"username": "rea", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert events("rea", AccessEvent.LOGIN) == before + 1
    home = client.get("/")
    assert home.status_code == 200 and "查阅人员" in home.content.decode()
    assert User.objects.get(username="rea").password.startswith("argon2$")


def test_wrong_password_is_refused_and_logged(accounts):
    before = events("app", AccessEvent.LOGIN_FAILED)
    response = Client().post("/login/", {"username": "app", "password": "not-the-password"})
    assert response.status_code == 200 and "用户名或密码不正确" in response.content.decode()
    assert events("app", AccessEvent.LOGIN_FAILED) == before + 1
    from axes.models import AccessAttempt
    AccessAttempt.objects.filter(username="app").delete()


def test_repeated_failures_lock_the_account_even_with_the_right_password(web_home, accounts):
    from axes.models import AccessAttempt
    from django.conf import settings

    service.add_account(web_home, "lockme", roles=["reader"], password=PASSWORD, by="pytest")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "lockme", "password": "wrong-password-x"})
    locked = client.post("/login/", {"username": "lockme", "password": PASSWORD})
    assert locked.status_code == 429 and "锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert events("lockme", AccessEvent.LOCKED_OUT) >= 1
    # another account from the same address is not locked
    assert Client().post("/login/", {"username": "rea", "password": PASSWORD}).status_code == 302
    AccessAttempt.objects.filter(username="lockme").delete()
    assert Client().post("/login/", {"username": "lockme", "password": PASSWORD}).status_code == 302


def test_logout_is_a_post_with_csrf_and_is_logged(accounts):
    client = Client(enforce_csrf_checks=True)
    client.post("/login/", {"username": "rea", "password": PASSWORD,
                            "csrfmiddlewaretoken": _csrf(client, "/login/")})
    assert client.get("/").status_code == 200
    refused = client.post("/logout/")
    assert refused.status_code == 403 and "CSRF" in refused.content.decode() and "Traceback" not in refused.content.decode()
    assert client.get("/").status_code == 200          # still logged in
    before = events("rea", AccessEvent.LOGOUT)
    assert client.post("/logout/", {"csrfmiddlewaretoken": _csrf(client, "/")}).status_code == 302
    assert events("rea", AccessEvent.LOGOUT) == before + 1
    assert client.get("/").status_code == 302


def _csrf(client: Client, page: str) -> str:
    import re
    html = client.get(page).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_api_token_authenticates_until_revoked(web_home, accounts):
    token = service.issue_token(web_home, "arc", by="pytest")
    client = Client(enforce_csrf_checks=True)
    me = client.get("/api/me", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200 and me.json()["username"] == "arc" and me.json()["via"] == "token"
    assert me.json()["roles"] == ["archivist"]
    stored = ApiToken.objects.get(prefix=token[:8])
    assert stored.digest != token and token not in stored.digest
    second = service.issue_token(web_home, "arc", by="pytest")          # a new token revokes the old one
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Token {second}").status_code == 200
    assert service.revoke_tokens(web_home, "arc", by="pytest") == 1
    refused = client.get("/api/me", HTTP_AUTHORIZATION=f"Token {second}")
    assert refused.status_code == 401 and "吊销" in refused.json()["error"]
    assert client.get("/api/me").status_code == 401                    # no token, no session


def test_a_disabled_account_loses_its_session_and_token(web_home, accounts, client_for):
    service.add_account(web_home, "leaver", roles=["reader"], password=PASSWORD, by="pytest")
    token = service.issue_token(web_home, "leaver", by="pytest")
    client = client_for("leaver")
    assert client.get("/").status_code == 200
    service.disable_account(web_home, "leaver", by="pytest")
    assert client.get("/").status_code == 302
    assert Client().get("/api/me", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert Client().post("/login/", {"username": "leaver", "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("roles", [["sysadmin", "reader"], ["auditor", "secadmin"], ["inspector", "archivist"],
                                   ["archivist", "nobody"]])
def test_roles_that_must_stay_apart_are_refused(web_home, roles):
    with pytest.raises(InvalidArgument) as refused:
        service.add_account(web_home, f"x-{'-'.join(roles)}", roles=roles, password=PASSWORD, by="pytest")
    assert "角色" in refused.value.message
    assert not User.objects.filter(username=f"x-{'-'.join(roles)}").exists()


def test_weak_passwords_are_refused(web_home):
    with pytest.raises(InvalidArgument, match="密码不符合要求"):
        service.add_account(web_home, "weak", roles=["reader"], password="12345678", by="pytest")


def test_security_headers_and_cookies(accounts):
    client = Client()
    page = client.get("/login/")
    csp = page["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert script_src.split()[1:] == ["'self'"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert page["X-Frame-Options"] == "DENY" and page["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in page.content.decode() and " on" + "click=" not in page.content.decode()
    response = client.post("/login/", {"username": "rea", "password": PASSWORD})
    cookie = response.cookies["yuetan_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]   # plain HTTP in tests


def test_errors_are_chinese_pages_without_a_traceback(accounts, client_for, monkeypatch):
    client = client_for("rea")
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and "未找到" in missing.content.decode()
    api_missing = client.get("/api/no-such-thing")
    assert api_missing.status_code == 404 and api_missing.json()["error"]

    from pipeline.web.accounts import views

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")
    monkeypatch.setattr(views, "render", broken)
    crashed = Client(raise_request_exception=False)
    crashed.force_login(User.objects.get(username="rea"))
    response = crashed.get("/")
    body = response.content.decode()
    assert response.status_code == 500 and "服务器内部错误" in body
    assert "Traceback" not in body and "secret internals" not in body and "RuntimeError" not in body


def test_the_secret_key_is_private(web_home, tmp_path):
    from pipeline.web.config import read_secret_key
    from pipeline.web.conftest import init_home

    key_file = web_home.path / "web" / "secret-key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert oct((web_home.path / "web").stat().st_mode & 0o777) == "0o700"
    other, _ = init_home(tmp_path / "other")
    other_key = other.path / "web" / "secret-key"
    assert read_secret_key(other) != read_secret_key(web_home)
    os.chmod(other_key, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_secret_key(other)
    other_key.unlink()
    with pytest.raises(ConfigurationError, match="yuetan --home"):
        read_secret_key(other)
    init_home(other.path)                     # init again makes only what is missing
    assert len(read_secret_key(other)) >= 40


def test_vendored_scripts_are_served_by_the_application(accounts):
    from pathlib import Path

    client = Client()
    vendor = Path(__file__).resolve().parents[2] / "static" / "vendor"
    for name in ("htmx.min.js", "echarts.min.js"):
        response = client.get(f"/static/vendor/{name}")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == (vendor / name).read_bytes()


def test_the_security_administrator_assigns_roles_and_the_rules_hold(web_home, accounts, client_for):
    from pipeline.web.accounts.roles import account_roles

    service.add_account(web_home, "newcomer", roles=["reader"], password=PASSWORD, by="pytest")
    user = User.objects.get(username="newcomer")
    url = f"/admin/auth/user/{user.pk}/change/"
    sec = client_for("sec")
    form = sec.get(url).content.decode()
    assert 'name="roles"' in form and 'name="password"' not in form and 'name="is_active"' not in form
    saved = sec.post(url, {"roles": ["reader", "archivist"]})
    assert saved.status_code == 302
    user = User.objects.get(username="newcomer")
    assert account_roles(user) == {"reader", "archivist"}
    refused = sec.post(url, {"roles": ["reader", "auditor"]})
    assert refused.status_code == 200 and "三员分立" in refused.content.decode()
    assert account_roles(User.objects.get(username="newcomer")) == {"reader", "archivist"}
    # the system administrator manages the account but cannot touch its roles
    sys_form = client_for("sys").get(url).content.decode()
    assert 'name="roles"' not in sys_form and 'name="groups"' not in sys_form and 'name="is_active"' in sys_form
    assert 'name="is_superuser"' not in sys_form and 'name="user_permissions"' not in sys_form
    assert client_for("sec").get(f"/admin/auth/user/{user.pk}/password/").status_code == 403
    assert client_for("sys").get(f"/admin/auth/user/{user.pk}/delete/").status_code == 403


def test_password_change_with_django_validation(web_home, accounts):
    service.add_account(web_home, "changer", roles=["reader"], password=PASSWORD, by="pytest")
    client = Client()
    client.post("/login/", {"username": "changer", "password": PASSWORD})
    weak = client.post("/password/", {"old_password": PASSWORD, "new_password1": "1234", "new_password2": "1234"})
    assert weak.status_code == 200 and "密码" in weak.content.decode()
    new = "另一个-足够长的-口令-2026"
    done = client.post("/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert Client().post("/login/", {"username": "changer", "password": new}).status_code == 302


def test_account_and_role_changes_are_in_the_ledger(web_home, accounts, client_for):
    from pipeline import api

    service.add_account(web_home, "ledgered", roles=["reader"], password=PASSWORD, by="root")
    user = User.objects.get(username="ledgered")
    client_for("sec").post(f"/admin/auth/user/{user.pk}/change/", {"roles": ["reader", "approver"]})
    client_for("sys").post(f"/admin/auth/user/{user.pk}/change/",
                           {"username": "ledgered", "first_name": "测试", "is_active": ""})
    entries = [e for e in api.ledger_list(web_home, actor=api.Actor(name="t", role="auditor")).entries
               if e.action in ("account", "role") and e.details.get("account") == "ledgered"]
    seen = [(e.action, e.details.get("change") or e.details.get("roles"), e.actor, e.role) for e in entries]
    assert seen == [("account", "created", "root", "console"), ("role", ["reader"], "root", "console"),
                    ("role", ["approver", "reader"], "sec", "secadmin"), ("account", "disabled", "sys", "sysadmin")]
    assert api.ledger_verify(web_home, actor=api.Actor(name="t", role="auditor")).ok
