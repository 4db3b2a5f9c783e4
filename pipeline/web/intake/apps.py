from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "pipeline.web.intake"
    label = "intake"
    verbose_name = "入库"
    default_auto_field = "django.db.models.BigAutoField"
