from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "pipeline.web.cases"
    label = "cases"
    verbose_name = "检索与案件"
    default_auto_field = "django.db.models.BigAutoField"
