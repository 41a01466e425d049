"""The waitlist's job endpoints, mounted at /api/jobs/ (before the platform's own job API).

Their documented paths have no trailing slash; both forms are accepted.
"""

from django.urls import re_path

from waitlist import views_jobs

app_name = "waitlist-jobs"

urlpatterns = [
    re_path(
        r"^expired-holds/trigger/?$",
        views_jobs.ExpiredHoldsTriggerView.as_view(),
        name="expired-holds-trigger",
    ),
    re_path(
        r"^cascade/trigger/?$", views_jobs.CascadeTriggerView.as_view(), name="cascade-trigger"
    ),
    re_path(
        r"^notifications/retry/?$",
        views_jobs.NotificationRetryView.as_view(),
        name="notification-retry",
    ),
    re_path(
        r"^cleanup/trigger/?$", views_jobs.CleanupTriggerView.as_view(), name="cleanup-trigger"
    ),
]
