from django.urls import path

from pipeline.web.intake import views

app_name = "intake"
urlpatterns = [
    path("ingest/", views.upload, name="upload"),
    path("ingest/jobs/<int:job_id>/", views.job, name="job"),
    path("ingest/jobs/<int:job_id>/progress", views.progress, name="progress"),
    path("api/ingest", views.api_ingest, name="api_ingest"),
]
