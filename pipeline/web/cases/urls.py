from django.urls import path

from pipeline.web.cases import views

app_name = "cases"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("cases/<str:reference>/", views.case, name="case"),
    path("cases/<str:case_id>/dossier.pdf", views.dossier, name="dossier"),
    path("cases/<str:case_id>/viewer/", views.viewer, name="viewer"),
    path("cases/<str:case_id>/pages/<int:page>.png", views.page_image, name="page"),
    path("cases/<str:case_id>/verify", views.verify, name="verify"),
    path("api/search", views.api_search, name="api_search"),
    path("api/cases/<str:reference>", views.api_case, name="api_case"),
]
