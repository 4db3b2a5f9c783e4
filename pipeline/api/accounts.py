"""The web application's accounts in the ledger: who created, disabled, re-keyed an account or changed its
roles, under the acting account and its role. The accounts themselves live in the web application's tables;
the rules of which roles go together are the core's (`pipeline.records.authority`).

The web application keeps its tables in the archive's own database (SQLite or PostgreSQL): it passes its open
DBAPI connection (`connection`, inside its transaction; lent to SQLAlchemy by `archive_store.db.lent`) so that
the account change and its ledger entry commit together or not at all. Without one, the entry is written in a
transaction of its own."""
from __future__ import annotations

from archive_store import ledger
from archive_store.actors import Actor
from archive_store.db import lent
from archive_store.home import ArchiveHome
from archive_store.text import require_plain
from pipeline.api.archive import ledger_entry
from pipeline.api.models import LedgerEntry
from pipeline.records.authority import check_role_set, require

ACCOUNT_CHANGES = {"created", "disabled", "enabled", "token_issued", "token_revoked", "password_reset",
                   "renamed"}


def record_account_change(home: ArchiveHome, account: str, change: str, *, actor: Actor,
                          details: dict | None = None, connection=None) -> LedgerEntry:
    """One change to an account (not its roles), in the ledger."""
    if change not in ACCOUNT_CHANGES:
        raise ValueError(f"unknown account change {change!r}")
    require(actor, "manage_accounts")
    require_plain(account, "账户名")
    for key, value in (details or {}).items():
        if isinstance(value, str):
            require_plain(value, f"账户的 {key}")
    return _append(home, connection, action="account", actor=actor,
                   details={"account": account, "change": change, **(details or {})})


def record_role_change(home: ArchiveHome, account: str, *, roles, added, removed, actor: Actor,
                       connection=None) -> LedgerEntry:
    """An account's roles set to `roles` (checked against the separation rules first), in the ledger."""
    require(actor, "assign_roles")
    require_plain(account, "账户名")
    held = sorted(check_role_set(roles))
    return _append(home, connection, action="role", actor=actor,
                   details={"account": account, "roles": held, "added": sorted(added), "removed": sorted(removed)})


def _append(home: ArchiveHome, connection, **entry) -> LedgerEntry:
    if connection is not None:
        with lent(connection) as conn:
            return ledger_entry(ledger.append(conn, **entry))
    with home.catalog() as catalog, catalog.transaction() as tx:     # the transaction mirrors the ledger head
        return ledger_entry(ledger.append(tx, **entry))
