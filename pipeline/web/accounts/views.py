"""Login, logout, password change and the home page: Django's own views, our templates."""
from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from pipeline.api.authority import PERMISSION_LABELS, permissions_of
from pipeline.web.accounts.roles import account_roles
from pipeline.web.permissions import public, signed_in


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link cannot log anyone out."""


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


login = public(LoginView.as_view())
logout = signed_in(LogoutView.as_view())
password_change = signed_in(PasswordChangeView.as_view())
password_change_done = signed_in(PasswordChangeDoneView.as_view())


@signed_in
def home(request):
    granted = sorted(permissions_of(account_roles(request.user)))
    return render(request, "accounts/home.html", {"abilities": [PERMISSION_LABELS[p] for p in granted]})



@signed_in
def api_me(request):
    """Who the request is authenticated as, and what the account may do."""
    roles = account_roles(request.user)
    return JsonResponse({"username": request.user.username, "full_name": request.user.first_name,
                         "roles": sorted(roles), "permissions": sorted(permissions_of(roles)),
                         "via": request.auth_via}, json_dumps_params={"ensure_ascii": False})
