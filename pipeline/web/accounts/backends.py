"""Permissions come from the account's roles through the core's table, not from rows anyone could edit."""
from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from pipeline.api.authority import permissions_of
from pipeline.web.accounts.roles import account_roles

# What the administration pages need from Django's own permissions, by core permission.
ADMIN_PERMISSIONS = {
    "manage_accounts": {"auth.view_user", "auth.add_user", "auth.change_user", "axes.view_accessattempt",
                        "axes.delete_accessattempt"},
    "assign_roles": {"auth.view_user", "auth.change_user"},
}


class RoleBackend(ModelBackend):
    """Passwords as Django checks them (Argon2); permissions `yuetan.<permission>` from the roles held.
    Django's per-user and per-group permission rows are ignored, and nobody is a superuser."""

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        granted = permissions_of(account_roles(user_obj))
        perms = {f"yuetan.{p}" for p in granted}
        for p in granted:
            perms |= ADMIN_PERMISSIONS.get(p, set())
        return perms

    def has_module_perms(self, user_obj, app_label):
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))
