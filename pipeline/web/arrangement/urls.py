from django.urls import path

from pipeline.web.arrangement import views

app_name = "arrangement"
urlpatterns = [
    path("arrangement/", views.index, name="index"),
    path("arrangement/<int:year>/catalogue.xlsx", views.catalogue_file, {"fmt": "xlsx"}, name="catalogue_xlsx"),
    path("arrangement/<int:year>/catalogue.pdf", views.catalogue_file, {"fmt": "pdf"}, name="catalogue_pdf"),
    path("arrangement/handovers/", views.prepare_handover, name="prepare_handover"),
    path("arrangement/handovers/<str:handover_id>/package.zip", views.handover_package, name="handover_package"),
    path("arrangement/handovers/<str:handover_id>/files/<str:name>", views.handover_copy, name="handover_file"),
]
