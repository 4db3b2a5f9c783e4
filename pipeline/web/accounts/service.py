"""Account changes made from the console (`yuetan user`) or the administration pages: checked against the core's
role rules and Django's password validators, and each one written to the archive's ledger under who made it
(`by`: the console's login name in the role `console`, or the administrator's account and role)."""
from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from pipeline import api
from pipeline.api import ArchiveConflict, ArchiveHome, InvalidArgument
from pipeline.api.authority import check_role_set
from pipeline.web.accounts.models import ApiToken
from pipeline.web.accounts.roles import account_roles, set_roles

NAME_MAX = 150


def _account(name: str) -> User:
    try:
        return User.objects.get(username=name)
    except User.DoesNotExist:
        raise InvalidArgument(f"没有名为“{name}”的账户：用 yuetan user list 查看已有账户") from None


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() or c in "/\\:" for c in name):
        raise InvalidArgument(f"账户名“{name}”无效：应为 1 至 {NAME_MAX} 个字符，不含空白与 / \\ :")
    return name


def _in_transaction() -> dict:
    """The open Django connection to the archive's database, for the ledger entry to commit with the change."""
    connection.ensure_connection()
    return {"connection": connection.connection}


def _actor(by) -> api.Actor:
    if isinstance(by, str):                      # the console: the login name at the archive's machine
        return api.Actor(name=by, role=api.Role.console)
    return api.Actor(name=by.name, role=api.Role(by.role))


def change_roles(home: ArchiveHome, account: User, roles, *, by) -> None:
    """Give the account exactly `roles`; the change and who made it go into the ledger."""
    with transaction.atomic():
        added, removed = set_roles(account, roles)
        if added or removed:
            api.record_role_change(home, account.username, roles=roles, added=added, removed=removed,
                                   actor=_actor(by), **_in_transaction())


def add_account(home: ArchiveHome, name: str, *, roles, password: str, full_name: str = "", by) -> User:
    name = _check_name(name)
    wanted = check_role_set(roles)
    if User.objects.filter(username=name).exists():
        raise ArchiveConflict(f"账户“{name}”已存在")
    candidate = User(username=name, first_name=full_name[:150])
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise InvalidArgument("密码不符合要求：" + "；".join(exc.messages)) from None
    with transaction.atomic():
        candidate.set_password(password)
        candidate.save()
        set_roles(candidate, wanted)
        api.record_account_change(home, name, "created", actor=_actor(by), details={"full_name": full_name},
                                  **_in_transaction())
        api.record_role_change(home, name, roles=wanted, added=wanted, removed=(), actor=_actor(by),
                               **_in_transaction())
    return candidate


def list_accounts() -> list[dict]:
    active_tokens = {t.user_id: t.prefix for t in ApiToken.objects.active()}
    return [{"username": u.username, "full_name": u.first_name, "roles": sorted(account_roles(u)),
             "active": u.is_active, "last_login": u.last_login.isoformat(timespec="seconds") if u.last_login else None,
             "token_prefix": active_tokens.get(u.pk)}
            for u in User.objects.order_by("username").prefetch_related("groups")]


def disable_account(home: ArchiveHome, name: str, *, by) -> User:
    with transaction.atomic():
        account = _account(name)
        account.is_active = False
        account.save(update_fields=["is_active"])
        _revoke(account, by)
        api.record_account_change(home, name, "disabled", actor=_actor(by), **_in_transaction())
    return account


def record_admin_change(home: ArchiveHome, account: User, change: str, *, by, details: dict | None = None) -> None:
    api.record_account_change(home, account.username, change, actor=_actor(by), details=details,
                              **_in_transaction())


def issue_token(home: ArchiveHome, name: str, *, by) -> str:
    with transaction.atomic():
        account = _account(name)
        if not account.is_active:
            raise InvalidArgument(f"账户“{name}”已停用，不能签发 API 令牌")
        _revoke(account, by)
        row, token = ApiToken.issue(account, by=_actor(by).name)
        api.record_account_change(home, name, "token_issued", actor=_actor(by),
                                  details={"token_prefix": row.prefix}, **_in_transaction())
    return token


def revoke_tokens(home: ArchiveHome, name: str, *, by) -> int:
    with transaction.atomic():
        count = _revoke(_account(name), by)
        if count:
            api.record_account_change(home, name, "token_revoked", actor=_actor(by), details={"tokens": count},
                                      **_in_transaction())
        return count


def _revoke(account: User, by) -> int:
    return ApiToken.objects.filter(user=account, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=_actor(by).name)
