"""Permissions declared beside each view: `@require("search")` lets in only accounts holding a role the core's
table allows, and sets `request.actor` (the account and the role it acts in). Every URL's view carries its
permission (`view.permission`) or is marked `@public`; a test walks them all against every role."""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from pipeline.api.authority import PERMISSION_LABELS, roles_allowed
from pipeline.web.accounts.access import record_access
from pipeline.web.accounts.models import AccessEvent
from pipeline.web.accounts.roles import actor_for
from pipeline.web.errors import api_error, is_api

PUBLIC = "public"          # the login page, static files, error pages
SIGNED_IN = "signed_in"    # any active account: home page, logout, password change


def require(permission: str):
    roles_allowed(permission)          # a typo fails at import, not at the first request

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                if is_api(request):
                    return api_error(401, "请先登录，或在请求头中给出 Authorization: Token <令牌>")
                return redirect_to_login(request.get_full_path())
            actor = actor_for(user, permission)
            if actor is None:
                record_access(request, AccessEvent.DENIED, target=request.path, details={"permission": permission})
                raise PermissionDenied(f"您的账户没有“{PERMISSION_LABELS[permission]}”的权限")
            request.actor = actor
            return view(request, *args, **kwargs)
        guarded.permission = permission
        return guarded
    return decorate


def signed_in(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if is_api(request):
                return api_error(401, "请先登录，或在请求头中给出 Authorization: Token <令牌>")
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)
    guarded.permission = SIGNED_IN
    return guarded


def public(view):
    view.permission = PUBLIC
    return view
