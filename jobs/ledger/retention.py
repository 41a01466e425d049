"""Retention: finished jobs and Celery results are removed by age and count, in bounded
batches (short transactions, so the ledger is never locked for long)."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_celery_results.models import GroupResult, TaskResult

from jobs.conf import jobs_settings
from jobs.errors import InvalidInput
from jobs.ledger.models import FINISHED_STATUSES, Job, JobStatus

log = logging.getLogger(__name__)

DELETE_BATCH = 5000
CLEANABLE = {s.value for s in FINISHED_STATUSES} | {JobStatus.DELAYED, JobStatus.WAITING}


def _delete_in_batches(queryset, limit: int | None) -> int:
    """Delete the rows of ``queryset`` (ordered oldest first) batch by batch."""
    removed = 0
    while limit is None or removed < limit:
        size = DELETE_BATCH if limit is None else min(DELETE_BATCH, limit - removed)
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True)[:size])
            if not ids:
                break
            removed += queryset.model.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < size:
            break
    return removed


def job_clean(*, queue: str | None, grace_ms: int, status: str, limit: int | None = None) -> int:
    """BullMQ's ``clean(queue, grace, status, limit)``: remove jobs of ``status`` that
    finished (or were created, for waiting/delayed) more than ``grace_ms`` ago."""
    if status not in CLEANABLE:
        raise InvalidInput(
            f"cannot clean {status!r} jobs; use one of {sorted(CLEANABLE)}", field="status"
        )
    if grace_ms < 0:
        raise InvalidInput("must not be negative", field="grace")
    if limit is not None and limit < 1:
        raise InvalidInput("must be at least 1", field="limit")
    cutoff = timezone.now() - timedelta(milliseconds=grace_ms)
    jobs = Job.objects.filter(status=status)
    if queue:
        jobs = jobs.filter(queue=queue)
    time_field = "finished_at" if status in {s.value for s in FINISHED_STATUSES} else "created_at"
    jobs = jobs.filter(**{f"{time_field}__lt": cutoff}).order_by(time_field)
    return _delete_in_batches(jobs, limit)


def _keep_last(status: str, queue: str, count: int) -> int:
    """Remove all but the newest ``count`` jobs of ``status`` on ``queue``."""
    jobs = Job.objects.filter(queue=queue, status=status)
    newest = list(jobs.order_by("-finished_at", "-id").values_list("id", flat=True)[:count])
    return _delete_in_batches(jobs.exclude(id__in=newest).order_by("finished_at"), None)


def apply_retention() -> dict[str, int]:
    """Apply JOBS_RETENTION ({status: {"age": seconds, "count": n}}) to every queue, and
    trim django-celery-results to JOBS_RESULTS_RETENTION seconds."""
    removed: dict[str, int] = {}
    queues = list(Job.objects.values_list("queue", flat=True).distinct())
    for status, policy in jobs_settings().retention.items():
        total = 0
        age, count = policy.get("age"), policy.get("count")
        if age is not None:
            total += job_clean(queue=None, grace_ms=int(age * 1000), status=status)
        if count is not None:
            total += sum(_keep_last(status, queue, int(count)) for queue in queues)
        removed[status] = total
    cutoff = timezone.now() - timedelta(seconds=jobs_settings().results_retention)
    removed["celery_results"] = _delete_in_batches(
        TaskResult.objects.filter(date_done__lt=cutoff).order_by("date_done"), None
    ) + _delete_in_batches(
        GroupResult.objects.filter(date_done__lt=cutoff).order_by("date_done"), None
    )
    log.info("retention removed %s", removed)
    return removed
