"""Every request knows the archive it serves (`request.home`) and how it was authenticated."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone

from pipeline.api import open_archive
from pipeline.web.accounts.models import ApiToken, token_digest

TOKEN_TOUCH_EVERY = timedelta(minutes=1)


class ArchiveMiddleware:
    """The archive home, opened once per process from the settings `pipeline.web.config` made."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.home = open_archive(Path(settings.YUETAN_HOME))

    def __call__(self, request):
        request.home = self.home
        return self.get_response(request)


class TokenAuthenticationMiddleware:
    """`Authorization: Token <token>` authenticates as the token's account; such a request carries no cookie a
    forged form could ride on, so it is exempt from the CSRF check. A revoked or unknown token is refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.auth_via = "session"
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "token":
            row = (ApiToken.objects.active().select_related("user")
                   .filter(digest=token_digest(token.strip())).first())
            if row is None:
                return JsonResponse({"error": "API 令牌无效、已吊销或其账户已停用"}, status=401,
                                    json_dumps_params={"ensure_ascii": False})
            request.user = row.user
            request.auth_via = "token"
            request._dont_enforce_csrf_checks = True
            now = timezone.now()
            if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_EVERY:
                ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return self.get_response(request)
