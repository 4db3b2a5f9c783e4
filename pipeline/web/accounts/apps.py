from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "pipeline.web.accounts"
    label = "accounts"
    verbose_name = "账户与访问"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pipeline.web.accounts import access  # noqa: F401 - connects the login/logout signal receivers
