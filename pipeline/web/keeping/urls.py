from django.urls import path

from pipeline.web.keeping import views

app_name = "keeping"
urlpatterns = [
    path("keeping/", views.retention, name="retention"),
    path("keeping/holds", views.hold, name="hold"),
    path("keeping/plans/", views.draft, name="draft"),
    path("keeping/plans/<str:plan_id>/", views.plan, name="plan"),
    path("keeping/plans/<str:plan_id>/files/<str:name>", views.plan_file, name="plan_file"),
    path("keeping/plans/<str:plan_id>/review", views.review, name="review"),
    path("keeping/plans/<str:plan_id>/witness", views.witness, name="witness"),
    path("keeping/plans/<str:plan_id>/execute", views.execute, name="execute"),
    path("exports/", views.exports, name="exports"),
    path("exports/prepare", views.prepare_export, name="prepare_export"),
    path("exports/mine/", views.granted, name="granted"),
    path("exports/<str:export_id>/review", views.review_export, name="review_export"),
    path("exports/<str:export_id>/download", views.download_export, name="download_export"),
    path("api/retention", views.api_retention, name="api_retention"),
    path("api/holds", views.api_holds, name="api_holds"),
]
