"""Who acts: every change to the archive is made by a named account in a role, and the ledger records both.

The core never invents an actor: a face (the command line, the web application) says who is acting. The command
line acts as the person named by `--actor` (else the login name) in the `console` role: someone at the archive's
own machine, with the rights of its files.
"""
from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from .text import problem


class Role(StrEnum):
    console = "console"          # the command line on the archive's machine
    sysadmin = "sysadmin"        # accounts and settings, no case content
    secadmin = "secadmin"        # assigns roles
    auditor = "auditor"          # reads the ledger and the access log
    archivist = "archivist"      # ingest, holds, destruction plans, exports
    reader = "reader"            # search, read, download dossiers
    approver = "approver"        # approves destruction plans and exports
    inspector = "inspector"      # the exports granted to the account


ROLE_LABELS = {Role.console: "命令行", Role.sysadmin: "系统管理员", Role.secadmin: "安全管理员",
               Role.auditor: "安全审计员", Role.archivist: "档案员", Role.reader: "查阅人员",
               Role.approver: "审批人", Role.inspector: "检查人员"}


class Actor(BaseModel):
    """An account name and the role it acts in."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("操作人姓名不能为空")
        found = problem(value)
        if found:
            raise ValueError(f"操作人姓名{found}")
        return value

    def __str__(self) -> str:
        return self.name
