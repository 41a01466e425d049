"""The "Monitoring & Alerts" section: queue metrics, the activity summary, failed jobs across
queues, the job system's health and the recommended alerts, from the platform's own calls
(the same answers as ``GET /api/jobs/metrics``, ``/health``, ``/failed``)."""

from jobs import (
    activity_summary,
    alerts_evaluate,
    job_list,
    queue_metrics,
    queue_metrics_list,
    system_health,
)


def queue_metrics_get(*, queue: str) -> dict:
    """``getQueueMetrics(queue)``: waiting, active, completed, failed, total, completion and
    failure rates, average processing time."""
    return queue_metrics(queue)


def all_queue_metrics_get() -> list[dict]:
    """``getAllQueueMetrics()``."""
    return queue_metrics_list()


def job_activity_summary_get() -> dict:
    """``getJobActivitySummary()``: every queue, the totals and the overall rates."""
    return activity_summary()


def failed_jobs_get(*, limit: int = 50) -> list[dict]:
    """``getFailedJobs(limit)`` across every queue, newest first."""
    return [
        {
            "queueName": job.queue,
            "jobId": str(job.id),
            "failedReason": job.error,
            "attemptsMade": job.attempts,
        }
        for job in job_list(status="failed", limit=limit)
    ]


def job_system_health_get() -> dict:
    """``getJobSystemHealth()``: healthy, and queues, scheduled jobs and workers each with
    their issues (and the alerts open now)."""
    return system_health()


def alerts_check() -> dict:
    """The recommended alerts (failure rate > 10 % in an hour, > 1000 waiting, processing
    slower than 2x normal, a worker down, a scheduled job missed): opened, refreshed or
    resolved, and mailed to the admins once. The platform runs this every minute
    (``jobs.alerts``); calling it is the same evaluation, at once."""
    return alerts_evaluate()
