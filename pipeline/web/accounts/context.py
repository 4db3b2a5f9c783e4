"""The menu: only the pages the account's roles may open (the server checks again on every request)."""
from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from pipeline.api.authority import ROLE_LABELS, permissions_of
from pipeline.web.accounts.roles import account_roles

MENU = [  # (label, url name, permission)
    ("检索", "cases:search", "search"),
    ("入库", "intake:upload", "ingest"),
    ("保管与销毁", "keeping:retention", "view_retention"),
    ("整理与移交", "arrangement:index", "read_catalogue"),
    ("导出", "keeping:exports", "view_exports"),
    ("我的导出", "keeping:granted", "receive_export"),
    ("信用档案", "reports:credit", "view_credit"),
    ("统计", "reports:statistics", "view_statistics"),
    ("审计", "audit:ledger", "read_ledger"),
    ("账户管理", "admin:index", "manage_accounts"),
    ("角色分配", "admin:index", "assign_roles"),
]


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    roles = account_roles(user) if user is not None else frozenset()
    granted = permissions_of(roles)
    items, seen = [], set()
    for label, name, permission in MENU:
        if permission in granted and name not in seen:
            seen.add(name)
            try:
                url = reverse(name)
            except NoReverseMatch:       # an app not mounted in this build
                continue
            items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return {"menu": items, "my_roles": [ROLE_LABELS[r] for r in sorted(roles)], "my_permissions": granted}
