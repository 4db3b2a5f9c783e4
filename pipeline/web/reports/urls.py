from django.urls import path

from pipeline.web.reports import views

app_name = "reports"
urlpatterns = [
    path("reports/credit/", views.credit, name="credit"),
    path("reports/statistics/", views.statistics, name="statistics"),
]
