from django.apps import AppConfig


class WebConfig(AppConfig):
    """The project itself as an app: its template tags (labels) and shared templates."""

    name = "pipeline.web"
    label = "yuetan_web"
    verbose_name = "约谈档案"
