from django.apps import AppConfig


class ArrangementConfig(AppConfig):
    name = "pipeline.web.arrangement"
    label = "arrangement"
    verbose_name = "整理与移交"
    default_auto_field = "django.db.models.BigAutoField"
