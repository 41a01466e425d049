"""Reading the ledger for operators: per-queue metrics, activity summary, job lists.

Everything here must answer quickly with millions of ledger rows:

- Counts per (queue, status): on PostgreSQL, the live statuses are counted by an
  index-only scan of each pair's range of the ``job_queue_status_created`` index (the plan
  cannot degrade into a sequential scan of the whole table), and the finished ones, which
  grow into the millions, are read from counts the ledger's triggers maintain
  (``jobs.ledger.status_counts``), in the same statement.
- Processing times (average, p95) and last-hour outcomes come from the jobs that finished
  in the last hour, found through the ``job_finished_at`` index (and capped at
  ``DURATION_SAMPLE`` rows, the most recent ones, so a very busy hour stays cheap).
- Lists are "newest first" slices of one (queue, status) pair, served by the
  ``job_queue_status_created`` index.
"""

import bisect
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from jobs.ledger import sql
from jobs.ledger.models import LIVE_STATUSES, Job, JobAttempt, JobStatus
from jobs.ledger.queues import is_paused, paused_queues, queue_names

log = logging.getLogger(__name__)

STATUSES = [s.value for s in JobStatus]
# The job list filter also knows "paused": the waiting jobs of a paused queue.
LIST_STATUSES = [*STATUSES, "paused"]
DURATION_SAMPLE = 100_000
WINDOW = timedelta(hours=1)


def _counts_postgresql(queues: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {q: dict.fromkeys(STATUSES, 0) for q in queues}
    with connection.cursor() as cursor:
        cursor.execute(sql.QUEUE_STATUS_COUNTS, [queues])
        for queue, status, n in cursor.fetchall():
            counts[queue][status] = n
    return counts


def queue_status_counts(queues: list[str] | None = None) -> dict[str, dict[str, int]]:
    """{queue: {status: count}} for every status, zeros included."""
    queues = list(queues) if queues is not None else queue_names()
    if not queues:
        return {}
    if connection.vendor == "postgresql":
        return _counts_postgresql(queues)
    counts = {q: dict.fromkeys(STATUSES, 0) for q in queues}
    rows = (
        Job.objects.filter(queue__in=queues)
        .values_list("queue", "status")
        .annotate(n=Count("*"))
        .order_by()
    )
    for queue, status, n in rows:
        counts[queue][status] = n
    return counts


@dataclass
class WindowStats:
    """What the jobs that finished in the window say about one queue."""

    completed: int = 0
    failed: int = 0
    durations_ms: list[float] = field(default_factory=list)
    avg_ms: float | None = None
    p95_ms: float | None = None

    @property
    def finished(self) -> int:
        return self.completed + self.failed

    @property
    def failure_rate(self) -> float | None:
        return round(100.0 * self.failed / self.finished, 2) if self.finished else None


def _percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation, like PostgreSQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def finished_window_stats(
    *,
    since: datetime,
    until: datetime | None = None,
    queues: list[str] | None = None,
) -> dict[str, WindowStats]:
    """Per-queue outcomes and processing times of the jobs finished in [since, until)."""
    until = until or timezone.now()
    stats: dict[str, WindowStats] = {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql.FINISHED_WINDOW, [since, until, DURATION_SAMPLE])
            for queue, completed, failed, avg_ms, p95_ms in cursor.fetchall():
                stats[queue] = WindowStats(
                    completed=completed,
                    failed=failed,
                    avg_ms=None if avg_ms is None else round(float(avg_ms), 2),
                    p95_ms=None if p95_ms is None else round(float(p95_ms), 2),
                )
    else:
        rows = (
            Job.objects.filter(
                finished_at__gte=since,
                finished_at__lt=until,
                status__in=[JobStatus.COMPLETED, JobStatus.FAILED],
            )
            .order_by("-finished_at")
            .values_list("queue", "status", "started_at", "finished_at")[:DURATION_SAMPLE]
        )
        for queue, status, started_at, finished_at in rows:
            entry = stats.setdefault(queue, WindowStats())
            if status == JobStatus.FAILED:
                entry.failed += 1
                continue
            entry.completed += 1
            if started_at and finished_at:
                entry.durations_ms.append((finished_at - started_at).total_seconds() * 1000)
        for entry in stats.values():
            if entry.durations_ms:
                entry.avg_ms = round(sum(entry.durations_ms) / len(entry.durations_ms), 2)
                p95 = _percentile(entry.durations_ms, 0.95)
                entry.p95_ms = None if p95 is None else round(p95, 2)
    if queues is not None:
        stats = {q: s for q, s in stats.items() if q in queues}
    return stats


def job_list(
    *,
    status: str | None = None,
    queue: str | None = None,
    task: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Job]:
    """Newest first, ``limit`` jobs after the first ``offset``. ``status="paused"`` means
    the waiting jobs of a paused queue.

    On PostgreSQL the newest ``limit`` rows of every (queue, status) pair asked for are
    taken from the ``job_queue_status_created`` index (a LATERAL join) and merged, so a list
    never sorts the whole ledger, whichever filters are given.
    """
    queues = [queue] if queue else queue_names()
    statuses = [status] if status else list(STATUSES)
    if status == "paused":
        paused = paused_queues()
        queues = [q for q in queues if is_paused(q, paused)]
        statuses = [JobStatus.WAITING]
    if not queues or limit <= 0:
        return []
    if connection.vendor != "postgresql":
        jobs = Job.objects.filter(queue__in=queues, status__in=statuses)
        if task:
            jobs = jobs.filter(task=task)
        return list(jobs.order_by("-created_at")[offset : offset + limit])
    # Each (queue, status) pair contributes at most offset + limit rows to the merge.
    params = [queues, statuses, *([task] if task else []), offset + limit, limit, offset]
    return list(Job.objects.raw(sql.job_list(by_task=bool(task)), params))


def job_get(*, job_id, queue: str | None = None) -> Job | None:
    jobs = Job.objects.filter(id=job_id)
    if queue is not None:
        jobs = jobs.filter(queue=queue)
    return jobs.first()


# Prometheus' default buckets, stretched to the platform's time limits (seconds).
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)


@dataclass
class DurationHistogram:
    buckets: list[tuple[float, int]]  # (upper bound in seconds, cumulative count)
    count: int
    sum: float


def duration_histograms(
    *, since: datetime, until: datetime | None = None, buckets=DURATION_BUCKETS
) -> dict[str, DurationHistogram]:
    """Run time histograms per queue of the jobs that finished (completed or failed) in
    [since, until), built at read time: the worker's hot path records nothing extra."""
    until = until or timezone.now()
    result: dict[str, DurationHistogram] = {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                sql.duration_histograms(len(buckets)), [since, until, DURATION_SAMPLE, *buckets]
            )
            for queue, count, total, *cumulative in cursor.fetchall():
                result[queue] = DurationHistogram(
                    buckets=list(zip(buckets, cumulative, strict=True)),
                    count=count,
                    sum=float(total),
                )
        return result
    rows = (
        Job.objects.filter(
            finished_at__gte=since,
            finished_at__lt=until,
            status__in=[JobStatus.COMPLETED, JobStatus.FAILED],
            started_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("queue", "started_at", "finished_at")[:DURATION_SAMPLE]
    )
    durations: dict[str, list[float]] = {}
    for queue, started_at, finished_at in rows:
        if started_at is None or finished_at is None:  # excluded by the query; for the types
            continue
        durations.setdefault(queue, []).append((finished_at - started_at).total_seconds())
    for queue, values in durations.items():
        result[queue] = DurationHistogram(
            buckets=[(b, sum(1 for v in values if v <= b)) for b in buckets],
            count=len(values),
            sum=sum(values),
        )
    return result


def live_job_keys(*, keys: list[str]) -> set[str]:
    """Which of ``keys`` belong to a live job (delayed, waiting or active)."""
    rows = Job.objects.filter(job_key__in=list(keys), status__in=LIVE_STATUSES)
    return {key for key in rows.values_list("job_key", flat=True) if key}


def pending_job_args(*, tasks: list[str]) -> list[tuple[str, list]]:
    """(id, args) of the jobs of ``tasks`` that have not started (delayed or waiting)."""
    return [
        (str(job_id), args)
        for job_id, args in Job.objects.filter(
            task__in=list(tasks), status__in=[JobStatus.DELAYED, JobStatus.WAITING]
        ).values_list("id", "args")
    ]


def unstarted_jobs_published_before(*, task_prefix: str, cutoff: datetime) -> list[str]:
    """Waiting jobs of tasks named ``task_prefix...`` whose message went out before
    ``cutoff`` and that no worker has started: their message is probably gone."""
    return [
        str(job_id)
        for job_id in Job.objects.filter(
            task__startswith=task_prefix,
            status=JobStatus.WAITING,
            needs_publish=False,
            published_at__lte=cutoff,
        ).values_list("id", flat=True)
    ]


@dataclass
class MinuteOutcomes:
    """What one queue's jobs did in one minute: counts, and the completed and failed jobs'
    wait and run times as counts per histogram bucket (index = bisect_right(bounds, ms))."""

    enqueued: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    wait_buckets: dict[int, int] = field(default_factory=dict)
    run_buckets: dict[int, int] = field(default_factory=dict)


def _minute(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(second=0, microsecond=0)


def _ms(delta: timedelta) -> float:
    return max(delta.total_seconds() * 1000, 0.0)


def minute_outcomes(
    *, since: datetime, until: datetime, bounds_ms: list[float]
) -> dict[tuple[str, datetime], MinuteOutcomes]:
    """{(queue, minute): MinuteOutcomes} for the minutes in [since, until), by finish time
    (enqueues by creation time), aggregated in the database on PostgreSQL."""
    result: dict[tuple[str, datetime], MinuteOutcomes] = {}

    def entry(queue: str, minute: datetime) -> MinuteOutcomes:
        return result.setdefault((queue, _minute(minute)), MinuteOutcomes())

    def count(outcome: MinuteOutcomes, status: str, n: int, wait: int | None, run: int | None):
        if status == JobStatus.CANCELLED:
            outcome.cancelled += n
            return
        if status == JobStatus.COMPLETED:
            outcome.completed += n
        else:
            outcome.failed += n
        if wait is not None:
            outcome.wait_buckets[wait] = outcome.wait_buckets.get(wait, 0) + n
        if run is not None:
            outcome.run_buckets[run] = outcome.run_buckets.get(run, 0) + n

    queues = queue_names()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql.ROLLUP_FINISHED, [bounds_ms, bounds_ms, since, until])
            for queue, minute, status, wait, run, n in cursor.fetchall():
                count(entry(queue, minute), status, n, wait, run)
            cursor.execute(sql.ROLLUP_RETRIED, [since, until])
            for queue, minute, n in cursor.fetchall():
                entry(queue, minute).retried += n
            if queues:
                cursor.execute(sql.ROLLUP_ENQUEUED, [queues, STATUSES, since, until])
                for queue, minute, n in cursor.fetchall():
                    entry(queue, minute).enqueued += n
        return result
    finished = Job.objects.filter(
        finished_at__gte=since,
        finished_at__lt=until,
        status__in=[JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED],
    ).values_list("queue", "status", "scheduled_for", "started_at", "finished_at")
    for queue, status, scheduled_for, started_at, finished_at in finished.iterator():
        if finished_at is None:  # excluded by the query; for the types
            continue
        wait = run = None
        if started_at is not None:
            wait = bisect.bisect_right(bounds_ms, _ms(started_at - scheduled_for))
            run = bisect.bisect_right(bounds_ms, _ms(finished_at - started_at))
        count(entry(queue, finished_at), status, 1, wait, run)
    retried = JobAttempt.objects.filter(
        outcome="retried", finished_at__gte=since, finished_at__lt=until
    ).values_list("job__queue", "finished_at")
    for queue, finished_at in retried.iterator():
        entry(queue, finished_at).retried += 1
    created = Job.objects.filter(created_at__gte=since, created_at__lt=until)
    for queue, created_at in created.values_list("queue", "created_at").iterator():
        entry(queue, created_at).enqueued += 1
    return result
