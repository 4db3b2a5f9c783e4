from django.urls import path

from pipeline.web.audit import views

app_name = "audit"
urlpatterns = [
    path("audit/", views.ledger, name="ledger"),
    path("audit/access/", views.access, name="access"),
    path("audit/check/", views.check, name="check"),
    path("audit/check/run", views.run_check, name="run_check"),
]
