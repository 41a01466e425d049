"""Writing to the ledger: enqueue, cancel, retry, remove, and queue controls."""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.base import ModelState
from django.utils import timezone

from jobs.errors import InvalidInput
from jobs.ledger import broker, job_options, prepared, sql
from jobs.ledger.json_content import format_path, unstorable_json_value
from jobs.ledger.models import LIVE_STATUSES, Job, JobStatus
from jobs.ledger.priorities import Priority
from jobs.ledger.queues import known_queues
from jobs.ledger.transition_log import log_transition

log = logging.getLogger(__name__)


class TaskDefaults(Protocol):
    """What a declared task contributes to its jobs unless a spec overrides it."""

    job_queue: str
    job_priority: int
    max_attempts: int
    time_limit: int | None


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
    # BullMQ's job options. backoff: {"type": "exponential"|"fixed", "delay": ms};
    # timeout: seconds (the hard time limit of this job); remove_on_complete /
    # remove_on_fail: true or {"age": seconds, "count": n}; unique_for: seconds during which
    # an enqueue with the same job_key returns the job already made (see job_enqueue).
    backoff: object = None
    timeout: int | None = None
    remove_on_complete: bool | int | dict | None = None
    remove_on_fail: bool | int | dict | None = None
    unique_for: float | None = None
    # A step of a workflow (jobs.ledger.workflows): the id Celery froze it with, its
    # workflow, the job whose end created it, and what its own end sets off.
    job_id: str | None = None
    workflow_id: str | None = None
    parent_id: str | None = None
    continuation: dict | None = None


def job_build(spec: JobSpec, *, now: datetime, defaults=None, check_arguments: bool = True) -> Job:
    """Validate a spec and turn it into an unsaved row. Raises InvalidInput naming the field.

    A task given as ``defaults`` with a ``job_arguments(args, kwargs)`` method checks the
    arguments against its signature and returns them as they are stored (the runtime's
    ``LedgerTask``: Celery's ``typing`` check, ``pydantic=True`` models dumped to JSON).
    ``check_arguments=False`` records them as given (a message being adopted: what arrived
    is recorded, and a bad call fails visibly when the job runs)."""
    prepare = getattr(defaults, "job_arguments", None) if check_arguments else None
    args, kwargs = prepare(spec.args, spec.kwargs) if prepare else (spec.args, spec.kwargs)
    queue = spec.queue or getattr(defaults, "job_queue", None) or "default"
    if queue not in known_queues():
        raise InvalidInput(f"unknown queue {queue!r}", field="queue")
    priority = Priority.parse(
        spec.priority if spec.priority is not None else getattr(defaults, "job_priority", None)
    )
    max_attempts = spec.max_attempts or getattr(defaults, "max_attempts", None) or 1
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise InvalidInput("must be a whole number of at least 1", field="max_attempts")
    if spec.eta is not None and spec.countdown is not None:
        raise InvalidInput("give either eta or countdown, not both", field="eta")
    if spec.countdown is not None and spec.countdown < 0:
        raise InvalidInput("must not be negative", field="countdown")
    if spec.eta is not None and timezone.is_naive(spec.eta):
        raise InvalidInput("must be timezone-aware", field="eta")
    # Refused here, not by the database: PostgreSQL raises DataError for a NUL character,
    # and SQLite stores a lone surrogate and then fails every read of the row.
    for name, value in (("args", args), ("kwargs", kwargs), ("job_key", spec.job_key)):
        # Empty (no arguments, no key) is storable: most jobs skip the walk.
        unstorable = unstorable_json_value(value) if value else None
        if unstorable is not None:
            where = format_path([name, *unstorable.path])
            raise InvalidInput(f"{where} {unstorable.problem}", field=name)
    hard_time_limit = job_options.timeout_option(spec.timeout) or job_options.timeout_option(
        spec.hard_time_limit, field="hard_time_limit"
    )
    backoff = job_options.backoff_option(spec.backoff)
    remove_on_complete = job_options.removal_option(
        spec.remove_on_complete, field="remove_on_complete"
    )
    remove_on_fail = job_options.removal_option(spec.remove_on_fail, field="remove_on_fail")
    job_options.unique_for_option(spec.unique_for, job_key=spec.job_key)
    due = spec.eta or (now + timedelta(seconds=spec.countdown or 0))
    status = JobStatus.DELAYED if due > now else JobStatus.WAITING
    job = _new_job(
        task=spec.task,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        queue=queue,
        priority=int(priority),
        status=status,
        max_attempts=max_attempts,
        job_key=spec.job_key or None,
        hard_time_limit=hard_time_limit or getattr(defaults, "time_limit", None),
        backoff=backoff,
        remove_on_complete=remove_on_complete,
        remove_on_fail=remove_on_fail,
        created_at=now,
        scheduled_for=max(due, now),
        published_at=now if status == JobStatus.WAITING else None,
    )
    if spec.workflow_id is not None:
        if spec.job_id:
            job.id = spec.job_id
        job.workflow_id = spec.workflow_id
        job.parent_id = spec.parent_id
        job.continuation = spec.continuation
    return job


# (attname, default, call it?) of every concrete field, read from the model once.
_field_defaults: list[tuple[str, Any, bool]] | None = None


def _new_job(**values) -> Job:
    """An unsaved Job with ``values`` over the fields' defaults, built as Django's
    ``Model.from_db`` builds a row's instance: straight into ``__dict__``.

    ``Model.__init__`` resolves every field's default and name anew for every instance,
    which was a quarter of ``enqueue_many``'s time in a profile. No signal receiver
    listens to the Job model's init signals, and the result is the same instance."""
    global _field_defaults
    if _field_defaults is None:
        _field_defaults = [
            (f.attname, f.default, callable(f.default))
            if f.has_default()
            else (f.attname, f.get_default(), False)
            for f in Job._meta.concrete_fields
        ]
    job = Job.__new__(Job)
    job._state = ModelState()
    fields = job.__dict__
    for attname, default, call in _field_defaults:
        fields[attname] = default() if call else default
    fields.update(values)
    return job


def insert_jobs(jobs: list[Job]) -> list[Job]:
    """Write unsaved rows (ids already set) in one statement."""
    if not jobs:
        return jobs
    if connection.vendor != "postgresql" or jobs[0].workflow_id is not None:
        # A workflow's steps (enqueued one at a time) take the ORM's INSERT, which writes
        # their workflow columns; the hand-written statements leave those columns NULL.
        return Job.objects.bulk_create(jobs)
    rows = [[_column(job, name, kind) for name, kind in sql.INSERT_COLUMNS] for job in jobs]
    if len(rows) == 1:
        prepared.execute(sql.INSERT_ONE, rows[0])
    else:
        # COPY streams the rows in one round trip with no per-value SQL quoting.
        with connection.cursor() as cursor, cursor.cursor.copy(sql.COPY_MANY) as copy:
            for row in rows:
                copy.write_row([*row, *sql.COPY_DEFAULTS])
    for job in jobs:
        job._state.adding = False
        job._state.db = connection.alias
    return jobs


# One encoder for every row: json.dumps(cls=...) would build a new one per value.
_json = DjangoJSONEncoder().encode


def _column(job: Job, name: str, kind: str):
    value = getattr(job, name)
    if kind == "jsonb" or (kind == "jsonb null" and value is not None):
        return _json(value)
    return value  # a nullable JSON option left out is SQL NULL, not JSON null


def publish_after_commit(jobs: list[Job]) -> None:
    due = [job for job in jobs if job.status == JobStatus.WAITING]
    if due:
        # on_commit runs at once outside a transaction, and never if it rolls back.
        transaction.on_commit(lambda: broker.publish_or_flag(due))


def job_enqueue(spec: JobSpec, *, defaults=None) -> tuple[Job, bool]:
    """Write one job in the caller's transaction; publish it when that commits.

    Returns (job, created). With a job_key that belongs to a live job, that job is returned
    and nothing is created (BullMQ's jobId semantics). With ``unique_for`` (seconds) too, a
    job with that key that completed, and was created, within the window is returned as
    well: a webhook redelivered an hour after its job ran does not run it again.
    """
    job = job_build(spec, now=timezone.now(), defaults=defaults)
    if spec.unique_for:
        job, created = _enqueue_unique_for(job, window=float(spec.unique_for))
    elif job.job_key:
        existing = live_job_with_key(job.job_key)
        if existing is not None:
            return existing, False
        job, created = _insert_keyed(job)
    elif spec.job_id:
        job, created = _insert_with_id(job)
    else:
        insert_jobs([job])
        publish_after_commit([job])
        created = True
    if created:
        log_transition("enqueued", job_id=str(job.id), task=job.task, queue=job.queue, attempt=0)
    return job, created


def _insert_keyed(job: Job) -> tuple[Job, bool]:
    """Insert a job with a key, or return the live job that won the key meanwhile."""
    try:
        # The savepoint keeps the caller's transaction usable when a concurrent enqueue
        # with the same key wins the live-key unique index.
        with transaction.atomic():
            insert_jobs([job])
    except IntegrityError:
        existing = live_job_with_key(job.job_key or "")
        if existing is None:
            raise
        return existing, False
    publish_after_commit([job])
    return job, True


def _insert_with_id(job: Job) -> tuple[Job, bool]:
    """A job under an id given by the caller (a workflow step, frozen by Celery): if a job
    has that id already (the step was created, or cancelled before it was), that job."""
    try:
        with transaction.atomic():
            insert_jobs([job])
    except IntegrityError:
        existing = Job.objects.filter(id=job.id).first()
        if existing is None:
            raise
        return existing, False
    publish_after_commit([job])
    return job, True


def live_job_with_key(job_key: str) -> Job | None:
    return Job.objects.filter(job_key=job_key, status__in=LIVE_STATUSES).first()


def job_with_key_within(job_key: str, *, since: datetime) -> Job | None:
    """The job holding ``job_key`` for the dedupe window: a live one, or one that completed
    and was created at or after ``since``. Failed and cancelled jobs do not hold the key
    (their work was not done; Oban's default unique states leave them out too)."""
    return (
        Job.objects.filter(job_key=job_key)
        .filter(Q(status__in=LIVE_STATUSES) | Q(status=JobStatus.COMPLETED, created_at__gte=since))
        .order_by("-created_at")
        .first()
    )


def _enqueue_unique_for(job: Job, *, window: float) -> tuple[Job, bool]:
    """The check and the insert under a transaction-scoped advisory lock on the key: a
    second enqueue of the key waits until the first one's transaction ends, then sees its
    row (READ COMMITTED takes a new snapshot per statement). The live-key unique index
    alone cannot do this: it says nothing about finished jobs."""
    assert job.job_key
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(sql.LOCK_JOB_KEY, [sql.JOB_KEY_LOCK_SPACE, job.job_key])
        # else SQLite: its writers are serialised by the database lock already.
        existing = job_with_key_within(
            job.job_key, since=job.created_at - timedelta(seconds=window)
        )
        if existing is not None:
            return existing, False
        # An enqueue of the key without unique_for takes no lock: the live-key index still
        # decides between the two.
        return _insert_keyed(job)


def enqueue_many(
    specs: Iterable[JobSpec | dict],
    *,
    batch_size: int = 1000,
    defaults_for: Callable[[str], TaskDefaults | None] | None = None,
) -> list[Job]:
    """Many jobs in one INSERT per batch and one pipelined publish (BullMQ's addBulk).

    ``defaults_for(task_name)`` supplies a task's declared defaults (the runtime passes
    its task registry). Jobs with a job_key go through the deduplicating path one by one.
    """
    now = timezone.now()
    plain: list[Job] = []
    keyed: list[JobSpec] = []
    defaults: dict[str, object] = {}  # a batch is usually one task: look it up once
    for spec in specs:
        if isinstance(spec, dict):
            spec = JobSpec(**spec)
        if spec.task not in defaults:
            defaults[spec.task] = defaults_for(spec.task) if defaults_for else None
        if spec.job_key:
            keyed.append(spec)
        else:
            plain.append(job_build(spec, now=now, defaults=defaults[spec.task]))
    created = []
    for start in range(0, len(plain), batch_size):
        created.extend(insert_jobs(plain[start : start + batch_size]))
    publish_after_commit(created)
    result = list(created)
    for spec in keyed:
        job, _ = job_enqueue(spec, defaults=defaults[spec.task])
        result.append(job)
    return result


def job_adopt(
    spec: JobSpec, *, job_id: str, defaults: TaskDefaults | None = None, attempts: int = 0
) -> bool:
    """Record a job that arrived as a broker message without a ledger row (``send_task``,
    ``celery call``, a producer in another service), under the message's own id: as
    ``waiting`` (the worker holding the message claims it next), or ``delayed`` when the
    spec has a future eta (the stager publishes it when due). ``attempts``: the message's
    Celery ``retries``, attempts already made elsewhere. False if a row with this id exists
    already (a redelivery of an adopted message, or a race with another worker)."""
    job = job_build(spec, now=timezone.now(), defaults=defaults, check_arguments=False)
    job.id = job_id
    try:
        # The savepoint keeps a caller's transaction usable when the id is taken.
        with transaction.atomic():
            insert_jobs([job])
            if attempts > 0:
                # Not on the enqueue hot path: the INSERT leaves attempts at its default.
                Job.objects.filter(id=job_id).update(attempts=attempts)
    except IntegrityError:
        return False
    log.info("job %s (%s) adopted from a message that had no ledger row", job_id, spec.task)
    return True
