"""Retention: finished jobs and Celery results are removed by age and count, in bounded
batches (short transactions, so the ledger is never locked for long). A job's own
remove_on_complete / remove_on_fail option, when it has one, is applied as well."""

import logging
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_celery_results.models import GroupResult, TaskResult

from jobs.conf import jobs_settings
from jobs.errors import InvalidInput
from jobs.ledger import sql
from jobs.ledger.models import FINISHED_STATUSES, Job, JobAttempt, JobStatus, Workflow

log = logging.getLogger(__name__)

DELETE_BATCH = 5000
CLEANABLE = {s.value for s in FINISHED_STATUSES} | {JobStatus.DELAYED, JobStatus.WAITING}
# The per-job options and the finished status each applies to.
JOB_OPTIONS = {"remove_on_complete": JobStatus.COMPLETED, "remove_on_fail": JobStatus.FAILED}


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


def job_clean(
    *,
    queue: str | None,
    grace_ms: int,
    status: str,
    limit: int | None = None,
    spare_own_option: bool = False,
    finished_before: datetime | None = None,
) -> int:
    """BullMQ's ``clean(queue, grace, status, limit)``: remove jobs of ``status`` that
    finished (or were created, for waiting/delayed) more than ``grace_ms`` ago.
    ``spare_own_option``: leave the jobs whose own remove_on_* option governs them.
    ``finished_before``: keep every job that finished at or after it (not rolled up yet)."""
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
    if finished_before is not None and time_field == "finished_at":
        jobs = jobs.filter(finished_at__lt=finished_before)
    if spare_own_option:
        jobs = _without_own_option(jobs, status)
    return _delete_in_batches(jobs, limit)


def _without_own_option(jobs, status: str):
    """A job's own option overrides the global policy for its finished status (BullMQ)."""
    for column, option_status in JOB_OPTIONS.items():
        if status == option_status:
            return jobs.filter(**{f"{column}__isnull": True})
    return jobs


def _keep_last(status: str, queue: str, count: int, finished_before: datetime | None = None) -> int:
    """Remove all but the newest ``count`` jobs of ``status`` on ``queue`` (those without
    an option of their own), and none that finished at or after ``finished_before``."""
    jobs = _without_own_option(Job.objects.filter(queue=queue, status=status), status)
    newest = list(jobs.order_by("-finished_at", "-id").values_list("id", flat=True)[:count])
    removable = jobs.exclude(id__in=newest)
    if finished_before is not None and status in {s.value for s in FINISHED_STATUSES}:
        removable = removable.filter(finished_at__lt=finished_before)
    return _delete_in_batches(removable.order_by("finished_at"), None)


def _removable_by_option(
    column: str, status: str, now: datetime, limit: int, finished_before: datetime | None = None
) -> list:
    """Up to ``limit`` ids of ``status`` jobs whose own ``column`` option says they go (and
    that finished before ``finished_before``, when given)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                sql.remove_by_option(column),
                [status, now, finished_before or datetime.max.replace(tzinfo=UTC), limit],
            )
            return [row[0] for row in cursor.fetchall()]
    # SQLite (local runs): the same rule in Python, over the few rows that carry an option.
    rows = (
        Job.objects.filter(status=status, **{f"{column}__isnull": False})
        .order_by("task", "-finished_at", "-id")
        .values_list("id", "task", "finished_at", column)
    )
    ids, rank, task_of_rank = [], 0, None
    for job_id, task, finished_at, keep in rows:
        if finished_before is not None and finished_at >= finished_before:
            continue
        if keep is True:
            ids.append(job_id)
            if len(ids) >= limit:
                break
            continue
        rank = rank + 1 if task == task_of_rank else 1
        task_of_rank = task
        if (
            isinstance(keep, dict)
            and "age" in keep
            and finished_at < now - timedelta(seconds=keep["age"])
        ) or (isinstance(keep, dict) and "count" in keep and rank > keep["count"]):
            ids.append(job_id)
            if len(ids) >= limit:
                break
    return ids


def apply_job_options(*, finished_before: datetime | None = None) -> dict[str, int]:
    """BullMQ's removeOnComplete / removeOnFail, per job: a finished job that carries one is
    removed when its option says so (``true``: at once, in case the finishing statement did
    not remove it, e.g. a time-limit failure; ``{"age", "count"}``: once it is older than
    age, or no longer among the newest count of its task's jobs with the option)."""
    now = timezone.now()
    removed: dict[str, int] = {}
    for column, status in JOB_OPTIONS.items():
        total = 0
        while True:
            with transaction.atomic():
                ids = _removable_by_option(column, status, now, DELETE_BATCH, finished_before)
                if ids:
                    # A fast delete (no Python-side cascade); the history follows by its
                    # ON DELETE CASCADE key.
                    total += Job.objects.filter(pk__in=ids).delete()[0]
            if len(ids) < DELETE_BATCH:
                break
        removed[column] = total
    if connection.vendor != "postgresql":
        # No cascading key on SQLite: the history of jobs removed is removed here.
        JobAttempt.objects.exclude(job_id__in=Job.objects.values("id")).delete()
    return removed


def apply_retention(*, finished_before: datetime | None = None) -> dict[str, int]:
    """Apply JOBS_RETENTION ({status: {"age": seconds, "count": n}}) to every queue, each
    job's own remove_on_complete / remove_on_fail, and trim django-celery-results to
    JOBS_RESULTS_RETENTION seconds, and the records of workflows older than that whose jobs
    are all gone. ``finished_before``: no job that finished at or after it is removed (the
    metrics rollup has not taken it in for good yet)."""
    removed: dict[str, int] = dict(apply_job_options(finished_before=finished_before))
    queues = list(Job.objects.values_list("queue", flat=True).distinct())
    for status, policy in jobs_settings().retention.items():
        total = 0
        age, count = policy.get("age"), policy.get("count")
        if age is not None:
            total += job_clean(
                queue=None,
                grace_ms=int(age * 1000),
                status=status,
                spare_own_option=True,
                finished_before=finished_before,
            )
        if count is not None:
            total += sum(_keep_last(status, queue, int(count), finished_before) for queue in queues)
        removed[status] = total
    cutoff = timezone.now() - timedelta(seconds=jobs_settings().results_retention)
    removed["celery_results"] = _delete_in_batches(
        TaskResult.objects.filter(date_done__lt=cutoff).order_by("date_done"), None
    ) + _delete_in_batches(
        GroupResult.objects.filter(date_done__lt=cutoff).order_by("date_done"), None
    )
    # A workflow's record (its steps, its chords) goes once none of its jobs is left and it
    # is older than the results: nothing can continue it then.
    removed["workflows"] = _delete_in_batches(
        Workflow.objects.filter(created_at__lt=cutoff)
        .exclude(id__in=Job.objects.filter(workflow_id__isnull=False).values("workflow_id"))
        .order_by("created_at"),
        None,
    )
    log.info("retention removed %s", removed)
    return removed
