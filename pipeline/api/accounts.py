"""The web application's accounts in the ledger: who created, disabled, re-keyed an account or changed its
roles, under the acting account and its role. The accounts themselves live in the web application's tables;
the rules of which roles go together are the core's (`pipeline.records.authority`)."""
from __future__ import annotations

from archive_store import ledger
from archive_store.actors import Actor
from archive_store.home import ArchiveHome
from pipeline.api.models import LedgerEntry
from pipeline.records.authority import check_role_set

ACCOUNT_CHANGES = {"created", "disabled", "enabled", "token_issued", "token_revoked", "password_reset",
                   "renamed"}


def record_account_change(home: ArchiveHome, account: str, change: str, *, actor: Actor,
                          details: dict | None = None) -> LedgerEntry:
    """One change to an account (not its roles), in the ledger."""
    if change not in ACCOUNT_CHANGES:
        raise ValueError(f"unknown account change {change!r}")
    with home.catalog() as catalog:
        entry = ledger.append(catalog.conn, action="account", actor=actor,
                              details={"account": account, "change": change, **(details or {})})
    return LedgerEntry(**entry.as_dict())


def record_role_change(home: ArchiveHome, account: str, *, roles, added, removed, actor: Actor) -> LedgerEntry:
    """An account's roles set to `roles` (checked against the separation rules first), in the ledger."""
    held = sorted(check_role_set(roles))
    with home.catalog() as catalog:
        entry = ledger.append(catalog.conn, action="role", actor=actor,
                              details={"account": account, "roles": held, "added": sorted(added),
                                       "removed": sorted(removed)})
    return LedgerEntry(**entry.as_dict())
