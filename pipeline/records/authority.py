"""Who may do what: the roles, which of them one person may hold together, and what each role may do.

The rules are data, here in the core, so every face obeys the same ones: the web application checks them for
every view and API call, `yuetan user` when roles are given. The three administrators are kept apart as Chinese
government systems require (三员分立): the system administrator manages accounts and settings, the security
administrator assigns roles, the auditor reads the ledger and the access log; none of them sees case content or
holds a second role. An inspector (检查人员) sees only the exports granted to the account, until they expire.
Rules about one object (the drafter of a destruction plan never approves it) live with that object.
"""
from __future__ import annotations

from collections.abc import Iterable

from archive_store.actors import ROLE_LABELS as _ROLE_LABELS
from archive_store.actors import Role
from archive_store.errors import InvalidArgument

CONSOLE = Role.console.value                                 # the archive's own machine: may do everything
ROLES = tuple(r.value for r in Role if r is not Role.console)   # the roles an account can hold
ROLE_LABELS = {r.value: label for r, label in _ROLE_LABELS.items()}
ADMINISTRATORS = ("sysadmin", "secadmin", "auditor")
SOLE_ROLES = frozenset({*ADMINISTRATORS, "inspector"})     # held by nobody who holds another role

PERMISSIONS: dict[str, frozenset[str]] = {
    "search": frozenset({"reader", "archivist", "approver"}),
    "view_case": frozenset({"reader", "archivist", "approver"}),
    "download_dossier": frozenset({"reader", "archivist"}),
    "ingest": frozenset({"archivist"}),
    "view_retention": frozenset({"archivist", "approver"}),
    "hold": frozenset({"archivist"}),
    "draft_plan": frozenset({"archivist"}),
    "approve_plan": frozenset({"approver"}),
    "witness_destruction": frozenset({"archivist", "approver"}),
    "execute_plan": frozenset({"archivist"}),
    "view_exports": frozenset({"archivist", "approver"}),
    "prepare_export": frozenset({"archivist"}),
    "approve_export": frozenset({"approver"}),
    "receive_export": frozenset({"inspector"}),
    "view_credit": frozenset({"reader", "archivist", "approver"}),
    "view_statistics": frozenset({"reader", "archivist", "approver"}),
    # The year's 案卷目录 and the handovers made: the archivist keeps them; the approver (the leader in charge of
    # records, 分管档案工作的负责人) reads them to check and sign the 移交清单 as 审核人. Readers find cases by
    # searching: the register's full list (reserved and destroyed numbers too) is the archive room's own tool.
    "read_catalogue": frozenset({"archivist", "approver"}),
    # Handing a year over (the package holds every dossier of the year) is the archive room's work alone.
    "hand_over": frozenset({"archivist"}),
    "read_ledger": frozenset({"auditor"}),
    "read_access_log": frozenset({"auditor"}),
    "run_audit": frozenset({"auditor"}),
    "manage_accounts": frozenset({"sysadmin"}),
    "assign_roles": frozenset({"secadmin"}),
    "back_up": frozenset({"sysadmin"}),
    "restore_catalog": frozenset(),         # only on the archive's own machine (console), never through a face
}
PERMISSION_LABELS = {
    "search": "检索案件", "view_case": "查看案件", "download_dossier": "下载案卷", "ingest": "入库",
    "view_retention": "查看保管期限", "hold": "冻结与解除冻结", "draft_plan": "编制销毁清册", "approve_plan": "批准销毁",
    "witness_destruction": "监销", "execute_plan": "执行销毁", "view_exports": "查看导出", "prepare_export": "准备导出",
    "approve_export": "批准导出", "receive_export": "接收导出", "view_credit": "查看信用档案",
    "view_statistics": "查看统计", "read_catalogue": "查阅案卷目录与移交记录", "hand_over": "办理年度移交",
    "read_ledger": "查阅台账", "read_access_log": "查阅访问日志",
    "run_audit": "核查档案库", "manage_accounts": "管理账户", "assign_roles": "分配角色",
    "back_up": "备份目录数据库", "restore_catalog": "从备份恢复目录数据库",
}


def check_role_set(roles: Iterable[str]) -> frozenset[str]:
    """The roles one account may hold together; refused with the reason otherwise."""
    held = frozenset(roles)
    unknown = sorted(held - set(ROLES))
    if unknown:
        raise InvalidArgument(f"不认识的角色：{'、'.join(unknown)}（可用：{'、'.join(ROLES)}）")
    sole = sorted(held & SOLE_ROLES)
    if sole and len(held) > 1:
        others = "、".join(ROLE_LABELS[r] for r in sorted(held - {sole[0]}))
        raise InvalidArgument(f"{ROLE_LABELS[sole[0]]}（{sole[0]}）不能与其他角色由同一人担任（此处还有：{others}）："
                              "系统管理员、安全管理员、安全审计员三员分立，检查人员只接收授权的导出")
    return held


def roles_allowed(permission: str) -> frozenset[str]:
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise InvalidArgument(f"不认识的权限：{permission}") from None


def acting_role(roles: Iterable[str], permission: str) -> str | None:
    """The role in which an account holding `roles` may do `permission` (the first in ROLES order), or None."""
    held = set(roles)
    if CONSOLE in held:
        return CONSOLE
    allowed = roles_allowed(permission)
    return next((r for r in ROLES if r in held and r in allowed), None)


def permissions_of(roles: Iterable[str]) -> frozenset[str]:
    held = set(roles)
    if CONSOLE in held:
        return frozenset(PERMISSIONS)
    return frozenset(p for p, allowed in PERMISSIONS.items() if held & allowed)


def require(actor, permission: str) -> None:
    """Refuse (InvalidArgument) an actor whose role may not do `permission`: the core checks again what a face
    checked, so no face can forget it."""
    role = str(getattr(actor.role, "value", actor.role))
    if acting_role({role}, permission) is None:
        raise PermissionRefused(f"{actor.name}（{ROLE_LABELS.get(role, role)}）无权{PERMISSION_LABELS[permission]}")


class PermissionRefused(InvalidArgument):
    """The actor's role does not allow what was asked."""
