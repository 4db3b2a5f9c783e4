"""The access log: each read (search, case view, downloads), login, failed login, lock-out and logout."""
from __future__ import annotations

from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.dispatch import receiver

from pipeline.web.accounts.models import AccessEvent


def client_address(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "")[:64] if request is not None else ""


def record_access(request, kind: str, target: str = "", details: dict | None = None) -> None:
    actor = getattr(request, "actor", None)
    user = getattr(request, "user", None)
    AccessEvent.objects.create(
        account=actor.name if actor else (user.username if user is not None and user.is_authenticated else ""),
        role=actor.role if actor else "", kind=kind, target=target[:300], address=client_address(request),
        via=getattr(request, "auth_via", "session"), details=details or {})


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    AccessEvent.objects.create(account=user.username, kind=AccessEvent.LOGIN, address=client_address(request))


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        AccessEvent.objects.create(account=user.username, kind=AccessEvent.LOGOUT, address=client_address(request))


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    AccessEvent.objects.create(account=str(credentials.get("username", ""))[:150], kind=AccessEvent.LOGIN_FAILED,
                               address=client_address(request))


def _locked_out(sender, request, username, ip_address, **kwargs):
    AccessEvent.objects.create(account=str(username or "")[:150], kind=AccessEvent.LOCKED_OUT,
                               address=str(ip_address or "")[:64])


try:
    from axes.signals import user_locked_out
    user_locked_out.connect(_locked_out, dispatch_uid="yuetan-locked-out")
except ImportError:  # pragma: no cover - axes is a pinned dependency
    pass
