"""Revocable API tokens and the access log. Accounts are Django's users; a role is membership of the Django
group named after it (the core's role names, `pipeline.api.authority.ROLES`)."""
from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_BYTES = 32


def token_digest(token: str) -> str:
    """Only the token's sha256 is stored: a copy of the database does not hand out working tokens."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A token for `Authorization: Token <token>`; shown once when issued, revoked at will."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField("前缀", max_length=8)           # to tell tokens apart in lists, never enough to use
    created_at = models.DateTimeField("签发时间", default=timezone.now)
    created_by = models.CharField("签发人", max_length=150)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_by = models.CharField("吊销人", max_length=150, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"

    @classmethod
    def issue(cls, user, *, by: str) -> tuple["ApiToken", str]:
        """A new token for `user`; returns (row, the token itself, which is not kept)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = cls.objects.create(user=user, digest=token_digest(token), prefix=token[:8], created_by=by)
        return row, token

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AccessEvent(models.Model):
    """One read or one login event: who, in which role, what, when, from where. Only the auditor reads these;
    triggers in the database refuse to change or delete a row (migration 0002)."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    LOCKED_OUT = "locked_out"
    SEARCH = "search"
    CASE_VIEW = "case_view"
    DOSSIER_DOWNLOAD = "dossier_download"
    EXPORT_DOWNLOAD = "export_download"
    PLAN_DOWNLOAD = "plan_download"
    CATALOGUE_DOWNLOAD = "catalogue_download"
    HANDOVER_DOWNLOAD = "handover_download"
    DENIED = "denied"
    KINDS = {LOGIN: "登录", LOGIN_FAILED: "登录失败", LOGOUT: "退出", LOCKED_OUT: "登录锁定", SEARCH: "检索",
             CASE_VIEW: "查看案件", DOSSIER_DOWNLOAD: "下载案卷", EXPORT_DOWNLOAD: "下载导出包",
             PLAN_DOWNLOAD: "下载销毁清册", CATALOGUE_DOWNLOAD: "下载案卷目录", HANDOVER_DOWNLOAD: "下载移交文件",
             DENIED: "越权访问被拒"}

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    account = models.CharField("账户", max_length=150, db_index=True)     # a name, kept if the account goes
    role = models.CharField("角色", max_length=20, blank=True)
    kind = models.CharField("事件", max_length=20, choices=list(KINDS.items()), db_index=True)
    target = models.CharField("对象", max_length=300, blank=True)
    address = models.CharField("地址", max_length=64, blank=True)
    via = models.CharField("方式", max_length=10, default="session")        # session | token
    details = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        verbose_name = "访问日志"
        verbose_name_plural = "访问日志"
        ordering = ["-at", "-id"]

    @property
    def kind_label(self) -> str:
        return self.KINDS.get(self.kind, self.kind)
