"""``/admin/dashboard/``: mounted before the admin's own URLs in ``config/urls.py``."""

from django.contrib import admin
from django.urls import path

from jobs.web.dashboard import views

app_name = "jobs-dashboard"

# The admin index links the dashboard (its template adds the link above the app list).
admin.site.index_template = "admin/jobs/dashboard/admin_index.html"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("live/", views.live, name="live"),
    path("live.json", views.live_json, name="live-json"),
    path("schedules/", views.schedules, name="schedules"),
    path("schedules/action/", views.schedule_action, name="schedule-action"),
]
