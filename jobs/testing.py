"""Testing helpers for tasks built on the platform: what was enqueued, and running it here.

After Oban's ``Oban.Testing`` (``assert_enqueued``, ``refute_enqueued``, ``drain_queue``),
Procrastinate's in-memory connector and Celery's eager mode, with one difference from eager
mode: jobs run through the ledger's real transitions, not around them. A test enqueues the
way the product does (``task.delay()``, a service, the API), asserts on the ledger, then
``run_enqueued_jobs()`` claims each due job (``attempts.job_claim``), runs the task body
(``LedgerTask.run_claimed``, the worker's own code after its claim) and records the outcome:
completed, a retry with its backoff in the row, or failed once the attempts are used up.
No broker and no worker are needed::

    from jobs import assert_enqueued, run_enqueued_jobs

    def test_signup_sends_the_welcome_mail(db, mailoutbox):
        user = signup(email="ann@example.test")
        assert_enqueued(task=send_welcome, args=[user.id])
        assert run_enqueued_jobs().completed == 1
        assert mailoutbox[0].to == ["ann@example.test"]

With pytest-django's ``db`` the whole test is one transaction: the publish an enqueue makes
on commit never happens, so no broker is touched at all. With ``transactional_db`` each
enqueue commits and publishes at once; with no broker to reach, that publish fails, the row
is flagged ``needs_publish`` and a warning is logged, which is harmless here (the flag only
tells the stager to publish again; ``run_enqueued_jobs`` ignores it). Do not run a real worker
on the same broker and queues at the same time: it would take the jobs too.
Under ``db`` a task whose own SQL statement fails (uncaught, outside a savepoint) leaves
PostgreSQL's test transaction unusable, as in any Django ``TestCase``; test such a task with
``transactional_db``, where each statement commits as on a worker.

What a worker does that these helpers do not: rate limits (a limited task runs at once) and
time limits (the body is not interrupted). Paused queues are honoured: their jobs are not run.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils import timezone

from jobs.ledger.models import Job, JobStatus
from jobs.ledger.queues import unpaused_filter
from jobs.runtime import stager
from jobs.runtime.registry import ledger_task

# What "enqueued" means when no status is given: waiting to run, now or later (Oban's
# available and scheduled states).
PENDING = (JobStatus.DELAYED, JobStatus.WAITING)
# How many jobs a failure message lists.
_LISTED = 20


def _task_name(task) -> str:
    """A task object or its registered name."""
    return task if isinstance(task, str) else task.name


def _json(value):
    """As the ledger stores it: tuples are lists, UUIDs and dates strings."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _statuses(status: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if status is None:
        return PENDING
    if status == "any":
        return None
    return (status,) if isinstance(status, str) else tuple(status)


def enqueued_jobs(
    *,
    task=None,
    args: Iterable | None = None,
    kwargs: dict | None = None,
    queue: str | None = None,
    job_key: str | None = None,
    status: str | Iterable[str] | None = None,
) -> list[Job]:
    """The ledger jobs matching every field given, oldest first.

    ``task``: a task or its name. ``args`` and ``kwargs`` match when equal to the job's
    (compared as stored JSON, so a tuple matches a list and a UUID its string). ``status``:
    one status or several; by default the pending ones (delayed, waiting); "any" for all."""
    rows = Job.objects.order_by("created_at", "id")
    if task is not None:
        rows = rows.filter(task=_task_name(task))
    if queue is not None:
        rows = rows.filter(queue=queue)
    if job_key is not None:
        rows = rows.filter(job_key=job_key)
    statuses = _statuses(status)
    if statuses is not None:
        rows = rows.filter(status__in=statuses)
    wanted_args = None if args is None else _json(list(args))
    wanted_kwargs = None if kwargs is None else _json(dict(kwargs))
    return [
        job
        for job in rows
        if (wanted_args is None or job.args == wanted_args)
        and (wanted_kwargs is None or job.kwargs == wanted_kwargs)
    ]


def _describe_query(**fields) -> str:
    given = ", ".join(f"{name}={value!r}" for name, value in fields.items() if value is not None)
    statuses = _statuses(fields.get("status"))
    scope = "any status" if statuses is None else "status " + "/".join(statuses)
    return f"a job with {given or 'any fields'} ({scope})"


def _describe(job: Job) -> str:
    key = f" job_key={job.job_key!r}" if job.job_key else ""
    return (
        f"  - {job.task} args={job.args!r} kwargs={job.kwargs!r} queue={job.queue!r} "
        f"status={job.status}{key}"
    )


def _listing(rows: QuerySet | list[Job], total: int) -> str:
    lines = [_describe(job) for job in rows]
    if total > len(lines):
        lines.append(f"  ... and {total - len(lines)} more")
    return "\n".join(lines) if lines else "  (none)"


def assert_enqueued(
    *,
    task=None,
    args: Iterable | None = None,
    kwargs: dict | None = None,
    queue: str | None = None,
    job_key: str | None = None,
    status: str | Iterable[str] | None = None,
) -> list[Job]:
    """Passes when a job matching every field given is in the ledger (see ``enqueued_jobs``)
    and returns the matching jobs; otherwise fails with an AssertionError that lists the
    jobs that *are* in the ledger, newest first."""
    fields = dict(task=task, args=args, kwargs=kwargs, queue=queue, job_key=job_key)
    found = enqueued_jobs(**fields, status=status)
    if found:
        return found
    fields = {**fields, "task": None if task is None else _task_name(task)}
    everything = Job.objects.order_by("-created_at", "-id")
    total = everything.count()
    raise AssertionError(
        f"expected {_describe_query(**fields, status=status)} in the ledger; "
        f"it holds {total} job(s):\n{_listing(list(everything[:_LISTED]), total)}"
    )


def refute_enqueued(
    *,
    task=None,
    args: Iterable | None = None,
    kwargs: dict | None = None,
    queue: str | None = None,
    job_key: str | None = None,
    status: str | Iterable[str] | None = None,
) -> None:
    """Passes when no job matches every field given; otherwise fails listing the matches."""
    fields = dict(task=task, args=args, kwargs=kwargs, queue=queue, job_key=job_key)
    found = enqueued_jobs(**fields, status=status)
    if not found:
        return
    fields = {**fields, "task": None if task is None else _task_name(task)}
    raise AssertionError(
        f"expected no {_describe_query(**fields, status=status).removeprefix('a ')} "
        f"in the ledger; found {len(found)}:\n{_listing(found[:_LISTED], len(found))}"
    )


@dataclass
class RunSummary:
    """What ``run_enqueued_jobs`` did: each job run, in order, with how its attempt ended."""

    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (job id, outcome)

    def _count(self, outcome: str) -> int:
        return sum(1 for _, ended in self.outcomes if ended == outcome)

    @property
    def ran(self) -> int:
        return len(self.outcomes)

    @property
    def completed(self) -> int:
        return self._count("completed")

    @property
    def retried(self) -> int:
        """Attempts that raised and were scheduled to run again (the row is ``delayed``)."""
        return self._count("retried")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def counts(self) -> dict[str, int]:
        """Attempts per outcome, e.g. ``{"completed": 2, "retried": 1}``."""
        counts: dict[str, int] = {}
        for _, ended in self.outcomes:
            counts[ended] = counts.get(ended, 0) + 1
        return counts

    def jobs(self) -> list[Job]:
        """The rows of the jobs run, as they are now, in the order they first ran (a job
        removed on completion or failure is not there)."""
        ids = list(dict.fromkeys(job_id for job_id, _ in self.outcomes))
        rows = {str(pk): job for pk, job in Job.objects.in_bulk(ids).items()}
        return [rows[job_id] for job_id in ids if job_id in rows]


def run_enqueued_jobs(
    *,
    queue: str | None = None,
    task=None,
    limit: int | None = None,
    include_delayed: bool = False,
    now: datetime | None = None,
) -> RunSummary:
    """Run due ledger jobs in this process until none is left, and say what happened.

    Each attempt is a worker's: the claim, the body, then completion, a retry scheduled with
    the job's backoff, or failure. Jobs the jobs enqueue run too, and so does a retry once
    due. Due means waiting, or delayed with its time at or before ``now`` (default: the
    clock, so a frozen clock keeps retries waiting); ``include_delayed=True`` runs delayed
    jobs and retries whatever their time. ``queue`` and ``task`` (a task or its name)
    narrow the jobs run; ``limit`` caps the attempts. A paused queue's jobs are not run.

    A job whose task is not a registered ledger task raises LookupError. A task's errors
    are not raised: they are in the ledger (``error``, ``traceback``, the attempt history)
    and counted in the summary.
    """
    summary = RunSummary()
    passed_over: set = set()  # jobs that could not be claimed (another runner took them)
    while limit is None or summary.ran < limit:
        due_by = None if include_delayed else (now or timezone.now())
        job = _next_due(queue=queue, task=task, due_by=due_by, passed_over=passed_over)
        if job is None:
            break
        if job.status == JobStatus.DELAYED:
            staged = stager.stage_due_delayed(due_by=job.scheduled_for, jobs=[job.id])
            if not staged:
                passed_over.add(job.id)
                continue
        runner = ledger_task(job.task)
        if runner is None:
            raise LookupError(f"job {job.id}: no ledger task named {job.task!r} is registered")
        outcome = runner.run_in_process(job)
        if outcome == "skipped":
            passed_over.add(job.id)
            continue
        summary.outcomes.append((str(job.id), outcome))
    return summary


def _next_due(*, queue, task, due_by: datetime | None, passed_over: set) -> Job | None:
    delayed = Q(status=JobStatus.DELAYED)
    if due_by is not None:
        delayed &= Q(scheduled_for__lte=due_by)
    rows = Job.objects.filter(Q(status=JobStatus.WAITING) | delayed).filter(unpaused_filter())
    if queue is not None:
        rows = rows.filter(queue=queue)
    if task is not None:
        rows = rows.filter(task=_task_name(task))
    if passed_over:
        rows = rows.exclude(id__in=passed_over)
    return (
        rows.order_by("priority", "scheduled_for", "created_at", "id")
        .only("id", "task", "args", "kwargs", "queue", "priority", "status", "scheduled_for")
        .first()
    )
