from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from jobs.web.auth_views import LoginView, LogoutView, RefreshView
from jobs.web.probes import healthz
from jobs.web.prometheus import prometheus_metrics

urlpatterns = [
    path("admin/dashboard/", include("jobs.web.dashboard.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/auth/token/", LoginView.as_view(), name="token-obtain"),
    path("api/auth/token/refresh/", RefreshView.as_view(), name="token-refresh"),
    path("api/auth/logout/", LogoutView.as_view(), name="token-logout"),
    path("api/jobs/", include("waitlist.urls_jobs")),
    path("api/jobs/", include("jobs.web.api.urls")),
    path("metrics", prometheus_metrics, name="prometheus-metrics"),
    path("api/waitlist/", include("waitlist.urls")),
    path("waitlist/", include("waitlist.urls_public")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/tickets/", include("tickets.urls")),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "config.errors.not_found"
