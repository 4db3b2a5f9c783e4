"""The administration pages (Django's admin) for the two administrators who manage accounts:
the system administrator adds accounts, sets names, disables them, resets passwords and lifts lock-outs;
the security administrator assigns roles. Neither sees case content; nobody deletes an account (it is
disabled, so the ledger's names stay meaningful); nobody is a superuser."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError

from pipeline.api import InvalidArgument
from pipeline.api.authority import ROLE_LABELS, ROLES, check_role_set
from pipeline.web.accounts import service
from pipeline.web.accounts.roles import account_roles, actor_for


class YuetanAdminSite(admin.AdminSite):
    site_header = "约谈档案 · 账户管理"
    site_title = "约谈档案"
    index_title = "账户与角色"

    def has_permission(self, request):
        user = request.user
        return user.is_active and bool(account_roles(user) & {"sysadmin", "secadmin"})


site = YuetanAdminSite(name="admin")


class RolesForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(label="角色", required=False, widget=forms.CheckboxSelectMultiple,
                                      choices=[(r, f"{ROLE_LABELS[r]}（{r}）") for r in ROLES])

    class Meta:
        model = User
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["roles"] = sorted(account_roles(self.instance))

    def clean_roles(self):
        try:
            return sorted(check_role_set(self.cleaned_data["roles"]))
        except InvalidArgument as exc:
            raise ValidationError(exc.message) from None


class AccountAdmin(UserAdmin):
    list_display = ("username", "first_name", "role_list", "is_active", "last_login")
    list_filter = ("is_active", "groups")
    search_fields = ("username", "first_name")
    ordering = ("username",)
    add_form = AdminUserCreationForm
    add_fieldsets = ((None, {"fields": ("username", "password1", "password2")}),)
    actions = None

    @admin.display(description="角色")
    def role_list(self, obj):
        return "、".join(ROLE_LABELS[r] for r in sorted(account_roles(obj))) or "—"

    def _role(self, request) -> set[str]:
        return set(account_roles(request.user))

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None and "secadmin" in self._role(request):
            kwargs["form"] = RolesForm
            kwargs["fields"] = ["roles"]
            return super(UserAdmin, self).get_form(request, obj, **kwargs)
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if "secadmin" in self._role(request):
            return ((None, {"fields": ("roles",)}),)
        return ((None, {"fields": ("username", "password")}), ("姓名", {"fields": ("first_name",)}),
                ("状态", {"fields": ("is_active", "last_login", "date_joined")}))

    def get_readonly_fields(self, request, obj=None):
        return ("last_login", "date_joined") if obj is not None and "sysadmin" in self._role(request) else ()

    def has_add_permission(self, request):
        return "sysadmin" in self._role(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Every change goes into the archive's ledger under the administrator's account and role."""
        home = request.home
        if "secadmin" in self._role(request) and change:
            service.change_roles(home, obj, form.cleaned_data["roles"], by=actor_for(request.user, "assign_roles"))
            return
        by = actor_for(request.user, "manage_accounts")
        if by is None:
            raise PermissionDenied
        obj.is_staff = False
        obj.is_superuser = False
        super().save_model(request, obj, form, change)
        if not change:
            service.record_admin_change(home, obj, "created", by=by)
        elif "is_active" in form.changed_data:
            service.record_admin_change(home, obj, "enabled" if obj.is_active else "disabled", by=by)
        elif form.changed_data:
            service.record_admin_change(home, obj, "renamed", by=by, details={"fields": sorted(form.changed_data)})

    def user_change_password(self, request, id, form_url=""):
        by = actor_for(request.user, "manage_accounts")
        if by is None:
            raise PermissionDenied
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            service.record_admin_change(request.home, User.objects.get(pk=id), "password_reset", by=by)
        return response


site.register(User, AccountAdmin)

try:
    from axes.admin import AccessAttemptAdmin
    from axes.models import AccessAttempt
    site.register(AccessAttempt, AccessAttemptAdmin)
except ImportError:  # pragma: no cover
    pass
