from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "pipeline.web.reports"
    label = "reports"
    verbose_name = "信用档案与统计"
    default_auto_field = "django.db.models.BigAutoField"
