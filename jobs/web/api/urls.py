"""Routes of the job administration API, mounted at /api/jobs/.

Job ids use the uuid converter, so these routes never shadow another app's routes under
/api/jobs/ (the waitlist's ``expired-holds/trigger`` and friends belong to the waitlist app).
Documented paths have no trailing slash, except ``/api/jobs/`` and ``/api/jobs/bulk/``.
"""

from django.urls import path

from jobs.web.api import views

app_name = "jobs-api"

urlpatterns = [
    path("", views.JobCollectionView.as_view(), name="job-collection"),
    path("bulk/", views.JobBulkEnqueueView.as_view(), name="job-bulk"),
    path("health", views.HealthView.as_view(), name="health"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    path("status", views.StatusView.as_view(), name="status"),
    path("pause", views.PauseAllView.as_view(), name="pause-all"),
    path("resume", views.ResumeAllView.as_view(), name="resume-all"),
    path("failed", views.FailedJobsView.as_view(), name="failed"),
    path("failed/clear", views.FailedClearView.as_view(), name="failed-clear"),
    path("failed/retry", views.FailedRetryView.as_view(), name="failed-retry"),
    path("active", views.ActiveJobsView.as_view(), name="active"),
    path("queues", views.QueueListView.as_view(), name="queue-list"),
    path("queues/<str:queue>", views.QueueDetailView.as_view(), name="queue-detail"),
    path("queues/<str:queue>/jobs", views.QueueJobsView.as_view(), name="queue-jobs"),
    path(
        "queues/<str:queue>/jobs/<uuid:job_id>",
        views.QueueJobDetailView.as_view(),
        name="queue-job-detail",
    ),
    path(
        "queues/<str:queue>/jobs/<uuid:job_id>/retry",
        views.QueueJobRetryView.as_view(),
        name="queue-job-retry",
    ),
    path("queues/<str:queue>/pause", views.QueuePauseView.as_view(), name="queue-pause"),
    path("queues/<str:queue>/resume", views.QueueResumeView.as_view(), name="queue-resume"),
    path("queues/<str:queue>/clean", views.QueueCleanView.as_view(), name="queue-clean"),
    path("scheduler", views.SchedulerView.as_view(), name="scheduler"),
    path("scheduler/preview", views.CronPreviewView.as_view(), name="scheduler-preview"),
    path(
        "scheduler/preview-every",
        views.IntervalPreviewView.as_view(),
        name="scheduler-preview-every",
    ),
    # A schedule named "preview" or "preview-every" is reached through the summary only.
    path("scheduler/<str:name>", views.ScheduleDetailView.as_view(), name="schedule-detail"),
    path("scheduler/<str:name>/start", views.ScheduleStartView.as_view(), name="schedule-start"),
    path("scheduler/<str:name>/stop", views.ScheduleStopView.as_view(), name="schedule-stop"),
    path("scheduler/<str:name>/run", views.ScheduleRunView.as_view(), name="schedule-run"),
    path(
        "workflows/<uuid:workflow_id>",
        views.WorkflowDetailView.as_view(),
        name="workflow-detail",
    ),
    path(
        "workflows/<uuid:workflow_id>/cancel",
        views.WorkflowCancelView.as_view(),
        name="workflow-cancel",
    ),
    path("<uuid:job_id>", views.JobDetailView.as_view(), name="job-detail"),
    path("<uuid:job_id>/retry", views.JobRetryView.as_view(), name="job-retry"),
    path("<uuid:job_id>/cancel", views.JobCancelView.as_view(), name="job-cancel"),
    path("<uuid:job_id>/run", views.JobRunNowView.as_view(), name="job-run-now"),
    # The short forms: /api/jobs/{queueName}/{jobId} and .../retry
    path("<str:queue>/<uuid:job_id>", views.QueueJobShortView.as_view(), name="queue-job"),
    path(
        "<str:queue>/<uuid:job_id>/retry",
        views.QueueJobRetryShortView.as_view(),
        name="queue-job-retry-short",
    ),
]
