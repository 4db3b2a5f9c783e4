from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "pipeline.web.audit"
    label = "audit"
    verbose_name = "审计"
    default_auto_field = "django.db.models.BigAutoField"
