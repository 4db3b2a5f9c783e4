"""`make serve`'s demo accounts (pipeline.web.demo, run as make runs it): one per role, each password printed once
and working, new passwords on every run (the old ones stop working, a disabled demo account is enabled again), the
roles as listed, and every change in the ledger."""
from __future__ import annotations

import re
import subprocess
import sys

from django.contrib.auth.models import User

from pipeline import api
from pipeline.web.accounts import service
from pipeline.web.accounts.roles import account_roles
from pipeline.web.demo import DEMO_ACCOUNTS

LINE = re.compile(r"^\s+(\S+)\s+(demo-\S+)\s+(\S+)（(.+)）$", re.M)


def run_demo(home) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "pipeline.web.demo", "--home", str(home.path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "密码只显示这一次" in done.stdout
    return {name: password for name, password, _, _ in LINE.findall(done.stdout)}


def test_demo_accounts_print_working_passwords_renewed_on_every_run(web_home, accounts):
    first = run_demo(web_home)
    assert list(first) == [name for name, _, _ in DEMO_ACCOUNTS]
    for name, full_name, roles in DEMO_ACCOUNTS:
        account = User.objects.get(username=name)
        assert account.is_active and account.get_full_name() == full_name, name
        assert account.check_password(first[name]), name
        assert account_roles(account) == frozenset(roles), name
    service.disable_account(web_home, "chayue", by="pytest")
    second = run_demo(web_home)
    assert list(second) == list(first)
    for name in first:
        account = User.objects.get(username=name)
        assert first[name] != second[name]
        assert account.is_active and account.check_password(second[name]) and not account.check_password(first[name])
    changes = [(e.details["account"], e.details["change"], e.actor)
               for e in api.ledger_list(web_home, actor=api.Actor(name="t", role="auditor")).entries
               if e.action == "account" and e.details.get("account") in first]
    for name in first:
        assert changes.count((name, "created", "make serve")) == 1, name
        assert changes.count((name, "password_reset", "make serve")) == 1, name
    assert ("chayue", "enabled", "make serve") in changes
    assert api.ledger_verify(web_home, actor=api.Actor(name="t", role="auditor")).ok
