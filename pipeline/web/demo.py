"""Demo accounts for `make serve`: one per role (two archivists, so a destruction can be witnessed), each with a
new random password printed once. Only for the demo archive: it resets these accounts' passwords."""
from __future__ import annotations

import argparse
import secrets
from pathlib import Path

BY = "make serve"  # the console actor the demo's account changes are recorded under

DEMO_ACCOUNTS = [  # (account, full name, roles)
    ("xitong", "系统管理员甲", ["sysadmin"]), ("anquan", "安全管理员乙", ["secadmin"]),
    ("shenji", "安全审计员丙", ["auditor"]), ("dangan", "档案员王晓明", ["archivist", "reader"]),
    ("dangan2", "档案员刘芳", ["archivist"]), ("chayue", "查阅人员陈静", ["reader"]),
    ("shenpi", "审批人张局长", ["approver"]), ("jiancha", "检查人员赵检查", ["inspector"]),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="为演示档案库建立演示账户并打印密码")
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)

    from pipeline.api import open_archive
    from pipeline.web import config

    home = open_archive(args.home)
    config.configure(home)
    config.migrate()
    from django.contrib.auth.models import User

    from pipeline.api.authority import ROLE_LABELS
    from pipeline.web.accounts import service

    print("演示账户（密码只显示这一次；每次 make serve 重新生成）：")
    for name, full_name, roles in DEMO_ACCOUNTS:
        password = "demo-" + secrets.token_urlsafe(9)
        account = User.objects.filter(username=name).first()
        if account is None:
            service.add_account(home, name, roles=roles, password=password, full_name=full_name, by=BY)
        else:
            renew(home, account, password, roles)
        print(f"  {name:<8} {password:<18} {full_name}（{'、'.join(ROLE_LABELS[r] for r in roles)}）")


def renew(home, account, password: str, roles) -> None:
    """An existing demo account: a new password, enabled, its lock-out lifted, the demo roles; each change in the
    ledger as the administrator's would be (the old password stops working, its sessions end with it)."""
    from django.db import transaction

    from pipeline.web.accounts import service

    with transaction.atomic():
        was_active = account.is_active
        account.set_password(password)
        account.is_active = True
        account.save()
        service.record_admin_change(home, account, "password_reset", by=BY)
        if not was_active:
            service.record_admin_change(home, account, "enabled", by=BY)
        service.change_roles(home, account, roles, by=BY)
    from axes.utils import reset

    reset(username=account.username)


if __name__ == "__main__":
    main()
