"""Writing to the ledger: enqueue, cancel, retry, remove, and queue controls."""

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jobs import broker, prepared
from jobs.models import LIVE_STATUSES, Job, JobStatus, QueueState
from jobs.priorities import Priority

log = logging.getLogger(__name__)


class JobError(Exception):
    """A job operation that cannot be done in the job's current state."""


@dataclass
class JobSpec:
    """What to enqueue. Validated by ``job_build``."""

    task: str
    args: Sequence = ()
    kwargs: dict = field(default_factory=dict)
    queue: str | None = None
    priority: Priority | int | str | None = None
    countdown: float | None = None
    eta: datetime | None = None
    job_key: str | None = None
    max_attempts: int | None = None
    hard_time_limit: int | None = None


def known_queues() -> set[str]:
    return set(settings.JOBS_QUEUES)


def job_build(spec: JobSpec, *, now: datetime, defaults=None) -> Job:
    """Validate a spec and turn it into an unsaved row. Raises ValueError naming the field."""
    queue = spec.queue or getattr(defaults, "job_queue", None) or "default"
    if queue not in known_queues():
        raise ValueError(f"queue: unknown queue {queue!r}")
    priority = Priority.parse(
        spec.priority if spec.priority is not None else getattr(defaults, "job_priority", None)
    )
    max_attempts = spec.max_attempts or getattr(defaults, "max_attempts", None) or 1
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError("max_attempts: must be a whole number of at least 1")
    if spec.eta is not None and spec.countdown is not None:
        raise ValueError("eta: give either eta or countdown, not both")
    if spec.countdown is not None and spec.countdown < 0:
        raise ValueError("countdown: must not be negative")
    if spec.eta is not None and timezone.is_naive(spec.eta):
        raise ValueError("eta: must be timezone-aware")
    due = spec.eta or (now + timedelta(seconds=spec.countdown or 0))
    status = JobStatus.DELAYED if due > now else JobStatus.WAITING
    return Job(
        task=spec.task,
        args=list(spec.args or ()),
        kwargs=dict(spec.kwargs or {}),
        queue=queue,
        priority=int(priority),
        status=status,
        max_attempts=max_attempts,
        job_key=spec.job_key or None,
        hard_time_limit=spec.hard_time_limit or getattr(defaults, "time_limit", None),
        created_at=now,
        scheduled_for=max(due, now),
        published_at=now if status == JobStatus.WAITING else None,
    )


# Columns an enqueue sets; the rest take their defaults. On PostgreSQL one INSERT ... SELECT
# FROM unnest(arrays) writes any number of rows with one statement and no per-field ORM
# compilation, which is most of what enqueueing costs.
_INSERT_COLUMNS = (
    ("id", "uuid"),
    ("task", "varchar"),
    ("args", "jsonb"),
    ("kwargs", "jsonb"),
    ("queue", "varchar"),
    ("priority", "smallint"),
    ("status", "varchar"),
    ("max_attempts", "integer"),
    ("job_key", "varchar"),
    ("hard_time_limit", "integer"),
    ("created_at", "timestamptz"),
    ("scheduled_for", "timestamptz"),
    ("published_at", "timestamptz"),
)
_DEFAULTED = {
    "attempts": "0",
    "progress": "0",
    "progress_message": "''",
    "error": "''",
    "traceback": "''",
    "worker": "''",
    "crash_count": "0",
    "needs_publish": "false",
}
_INSERT_HEAD = (
    f"INSERT INTO {Job._meta.db_table} "
    f"({', '.join([c for c, _ in _INSERT_COLUMNS] + list(_DEFAULTED))}) "
)
# One row (every .delay()): plain VALUES, cheaper to send and plan than arrays.
_VALUES_INSERT = (
    _INSERT_HEAD
    + "VALUES ("
    + ", ".join(["%s::jsonb" if t == "jsonb" else "%s" for _, t in _INSERT_COLUMNS])
    + ", "
    + ", ".join(_DEFAULTED.values())
    + ")"
)
_COPY_DEFAULTS = (0, 0, "", "", "", "", 0, False)  # the _DEFAULTED columns, in order
_COPY = (
    f"COPY {Job._meta.db_table} "
    f"({', '.join([c for c, _ in _INSERT_COLUMNS] + list(_DEFAULTED))}) FROM STDIN"
)


def insert_jobs(jobs: list[Job]) -> list[Job]:
    """Write unsaved rows (ids already set) in one statement."""
    if not jobs:
        return jobs
    if connection.vendor != "postgresql":
        return Job.objects.bulk_create(jobs)
    rows = [
        [
            json.dumps(getattr(job, name), cls=DjangoJSONEncoder)
            if kind == "jsonb"
            else getattr(job, name)
            for name, kind in _INSERT_COLUMNS
        ]
        for job in jobs
    ]
    if len(rows) == 1:
        prepared.execute(_VALUES_INSERT, rows[0])
    else:
        # COPY streams the rows in one round trip with no per-value SQL quoting.
        with connection.cursor() as cursor, cursor.cursor.copy(_COPY) as copy:
            for row in rows:
                copy.write_row([*row, *_COPY_DEFAULTS])
    for job in jobs:
        job._state.adding = False
        job._state.db = connection.alias
    return jobs


def _publish_after_commit(jobs: list[Job]) -> None:
    due = [job for job in jobs if job.status == JobStatus.WAITING]
    if due:
        # on_commit runs at once outside a transaction, and never if it rolls back.
        transaction.on_commit(lambda: broker.publish_or_flag(due))


def job_enqueue(spec: JobSpec, *, defaults=None) -> tuple[Job, bool]:
    """Write one job in the caller's transaction; publish it when that commits.

    Returns (job, created). With a job_key that belongs to a live job, that job is returned
    and nothing is created (BullMQ's jobId semantics).
    """
    job = job_build(spec, now=timezone.now(), defaults=defaults)
    if job.job_key:
        existing = _live_job_with_key(job.job_key)
        if existing is not None:
            return existing, False
        try:
            # The savepoint keeps the caller's transaction usable when a concurrent
            # enqueue with the same key wins the unique index.
            with transaction.atomic():
                insert_jobs([job])
        except IntegrityError:
            existing = _live_job_with_key(job.job_key)
            if existing is None:
                raise
            return existing, False
    else:
        insert_jobs([job])
    _publish_after_commit([job])
    return job, True


def _live_job_with_key(job_key: str) -> Job | None:
    return Job.objects.filter(job_key=job_key, status__in=LIVE_STATUSES).first()


def enqueue_many(specs: Iterable[JobSpec | dict], *, batch_size: int = 1000) -> list[Job]:
    """Many jobs in one INSERT per batch and one pipelined publish (seed 002 scheduleMany).

    Jobs with a job_key go through the deduplicating path one by one.
    """
    from jobs.task import task_defaults

    now = timezone.now()
    plain: list[Job] = []
    keyed: list[JobSpec] = []
    defaults: dict[str, object] = {}  # a batch is usually one task: look it up once
    for spec in specs:
        if isinstance(spec, dict):
            spec = JobSpec(**spec)
        if spec.task not in defaults:
            defaults[spec.task] = task_defaults(spec.task)
        if spec.job_key:
            keyed.append(spec)
        else:
            plain.append(job_build(spec, now=now, defaults=defaults[spec.task]))
    created = []
    for start in range(0, len(plain), batch_size):
        created.extend(insert_jobs(plain[start : start + batch_size]))
    _publish_after_commit(created)
    result = list(created)
    for spec in keyed:
        job, _ = job_enqueue(spec, defaults=defaults[spec.task])
        result.append(job)
    return result


def _job_filter(job_id: str | None, job_key: str | None):
    if bool(job_id) == bool(job_key):
        raise ValueError("give exactly one of job_id or job_key")
    if job_id:
        return Job.objects.filter(id=job_id)
    return Job.objects.filter(job_key=job_key, status__in=LIVE_STATUSES)


def job_cancel(*, job_id: str | None = None, job_key: str | None = None) -> bool:
    """Cancel a job that has not started. Durable: its message, if any, is ignored."""
    cancelled = (
        _job_filter(job_id, job_key)
        .filter(status__in=[JobStatus.DELAYED, JobStatus.WAITING])
        .update(status=JobStatus.CANCELLED, finished_at=timezone.now(), needs_publish=False)
    )
    return bool(cancelled)


def job_retry(*, job_id: str, reset_attempts: bool = True) -> Job:
    """Run a failed or cancelled job again (a fresh set of attempts by default)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(id=job_id).first()
        if job is None:
            raise Job.DoesNotExist(job_id)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.COMPLETED):
            raise JobError(f"job {job_id} is {job.status}; only finished jobs can be retried")
        if job.job_key and _live_job_with_key(job.job_key) is not None:
            raise JobError(f"another live job holds key {job.job_key!r}")
        now = timezone.now()
        job.status = JobStatus.WAITING
        job.attempts = 0 if reset_attempts else job.attempts
        job.crash_count = 0
        job.error = job.traceback = ""
        job.result = None
        job.scheduled_for = job.published_at = now
        job.started_at = job.finished_at = None
        job.save()
    _publish_after_commit([job])
    return job


def job_run_now(*, job_id: str) -> bool:
    """Make a delayed job due at once; the dispatcher publishes it on its next tick."""
    return bool(
        Job.objects.filter(id=job_id, status=JobStatus.DELAYED).update(scheduled_for=timezone.now())
    )


def job_remove(*, job_id: str) -> bool:
    """Delete a job that is not running (an active job must finish or be reaped first)."""
    job = Job.objects.filter(id=job_id).only("status").first()
    if job is None:
        return False
    if job.status == JobStatus.ACTIVE:
        raise JobError(f"job {job_id} is active; cancel or wait for it before removing")
    return bool(Job.objects.filter(id=job_id).exclude(status=JobStatus.ACTIVE).delete()[0])


def queue_pause(*, queue: str) -> QueueState:
    """Durably pause a queue ("*" for all). Its jobs stay waiting until resumed."""
    state, _ = QueueState.objects.update_or_create(
        name=queue, defaults={"paused": True, "paused_at": timezone.now()}
    )
    return state


def queue_resume(*, queue: str) -> int:
    """Resume a queue; jobs whose messages were put back are published in priority order
    by the dispatcher. Returns how many are due for publishing."""
    QueueState.objects.filter(name=queue).update(paused=False, paused_at=None)
    jobs = Job.objects.filter(status=JobStatus.WAITING, needs_publish=True)
    if queue != QueueState.ALL:
        jobs = jobs.filter(queue=queue)
    return jobs.count()


def jobs_republish(*, job_ids: list[str]) -> int:
    """Ask the dispatcher to publish these waiting jobs again (their message was lost).
    A duplicate message is harmless: the start guard runs the job once."""
    return Job.objects.filter(
        id__in=list(job_ids), status=JobStatus.WAITING, needs_publish=False
    ).update(needs_publish=True)
