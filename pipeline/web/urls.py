"""The site's URLs: one prefix per app, the JSON API under /api/, the admin for the two account administrators."""
from django.urls import include, path

from pipeline.web.accounts import views as account_views
from pipeline.web.accounts.admin import site as admin_site

handler400 = "pipeline.web.errors.bad_request"
handler403 = "pipeline.web.errors.permission_denied"
handler404 = "pipeline.web.errors.page_not_found"
handler500 = "pipeline.web.errors.server_error"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("", include("pipeline.web.accounts.urls")),
    path("", include("pipeline.web.cases.urls")),
    path("", include("pipeline.web.intake.urls")),
    path("", include("pipeline.web.audit.urls")),
    path("", include("pipeline.web.keeping.urls")),
    path("", include("pipeline.web.arrangement.urls")),
    path("", include("pipeline.web.reports.urls")),
    path("admin/", admin_site.urls),
]
