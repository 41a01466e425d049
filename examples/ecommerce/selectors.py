"""The e-commerce reads: queue counts, failed jobs, a job's progress, the daily report."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from jobs import NotFoundError, job_get, job_list, queue_status_counts

from . import EMAIL_QUEUE
from .models import Order


def email_queue_counts() -> dict[str, int]:
    """``emailQueue.getJobCounts()``: waiting, active, completed, failed, delayed, ..."""
    return queue_status_counts([EMAIL_QUEUE])[EMAIL_QUEUE]


def email_queue_failed(*, limit: int = 50) -> list[dict]:
    """``emailQueue.getFailed()``: each job's failed reason, data and attempts made."""
    return [
        {
            "id": str(job.id),
            "failedReason": job.error,
            "data": job.kwargs,
            "attemptsMade": job.attempts,
        }
        for job in job_list(status="failed", queue=EMAIL_QUEUE, limit=limit)
    ]


def job_progress(*, job_id: str) -> int:
    """``(await queue.getJob(id)).progress``."""
    job = job_get(job_id=job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    return job.progress


def orders_daily_report() -> dict:
    """Yesterday's orders by status (the 09:00 daily report)."""
    since = timezone.now() - timedelta(days=1)
    counts = (
        Order.objects.filter(created_at__gte=since)
        .values("status")
        .annotate(n=Count("id"))
        .order_by("status")
    )
    return {row["status"]: row["n"] for row in counts}
