"""An account's roles (its Django groups named after the core's roles) and the actor a request acts as."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group

from pipeline.api.authority import ROLE_LABELS, ROLES, acting_role, check_role_set


@dataclass(frozen=True)
class WebActor:
    """The authenticated account and the role it acts in for this request."""

    name: str
    role: str

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


def account_roles(user) -> frozenset[str]:
    """The core roles the account holds; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_yuetan_roles", None)
    if cached is None:
        cached = frozenset(name for name in user.groups.values_list("name", flat=True) if name in ROLES)
        user._yuetan_roles = cached
    return cached


def actor_for(user, permission: str) -> WebActor | None:
    role = acting_role(account_roles(user), permission)
    return None if role is None else WebActor(user.username, role)


def set_roles(user, roles) -> tuple[frozenset[str], frozenset[str]]:
    """Give the account exactly `roles` (checked against the separation rules); returns (added, removed)."""
    wanted = check_role_set(roles)
    before = account_roles(user)
    groups = {g.name: g for g in Group.objects.filter(name__in=ROLES)}
    user.groups.remove(*[groups[r] for r in before - wanted])
    user.groups.add(*[groups[r] for r in wanted - before])
    user._yuetan_roles = wanted
    return wanted - before, before - wanted
