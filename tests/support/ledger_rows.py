"""Ledger rows in any state, written straight to the database (no broker message)."""

from datetime import timedelta

from django.utils import timezone

from jobs.models import Job, JobStatus


def make_job(
    *,
    status: str = JobStatus.WAITING,
    queue: str = "default",
    task: str = "jobs.noop",
    run_ms: float | None = None,
    finished_ago: timedelta = timedelta(minutes=5),
    **fields,
) -> Job:
    """A ledger row in any state, written directly (no broker message)."""
    now = timezone.now()
    values = {
        "task": task,
        "queue": queue,
        "status": status,
        "created_at": now - finished_ago - timedelta(seconds=10),
        "scheduled_for": now - finished_ago - timedelta(seconds=10),
    }
    if status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
        finished = now - finished_ago
        values["finished_at"] = finished
        values["started_at"] = finished - timedelta(milliseconds=run_ms or 100)
        values["attempts"] = 1
    if status == JobStatus.ACTIVE:
        values["started_at"] = now
        values["attempts"] = 1
    if status == JobStatus.DELAYED:
        values["scheduled_for"] = now + timedelta(hours=1)
    values.update(fields)
    return Job.objects.create(**values)


def make_jobs(n: int, **kwargs) -> list[Job]:
    return [make_job(**kwargs) for _ in range(n)]
