from django.apps import AppConfig


class KeepingConfig(AppConfig):
    name = "pipeline.web.keeping"
    label = "keeping"
    verbose_name = "保管、销毁与导出"
    default_auto_field = "django.db.models.BigAutoField"
