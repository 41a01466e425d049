"""What the dashboard pages show, read from the ledger's selectors, the metrics rollups
and the schedules: built here so the views stay thin."""

from datetime import UTC, datetime, timedelta

from django.db.models import Max
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from jobs.ledger.failure_groups import failure_groups
from jobs.ledger.models import Job, JobStatus, QueueState, WorkerProcess
from jobs.ledger.queues import is_paused, paused_queues, queue_names
from jobs.ledger.selectors import STATUSES, queue_status_counts
from jobs.ledger.workers import live_workers
from jobs.observability.health import system_health
from jobs.observability.rollups import Totals, count_series, floor_minute, series
from jobs.scheduling.models import ScheduleFire
from jobs.scheduling.operations import RELATED, scheduler_summary
from jobs.scheduling.scheduler import schedule_spec_of
from jobs.web.dashboard.sparklines import sparkline

# (key, title, length, points): each sparkline's window and resolution.
WINDOWS = (
    ("hour", "last hour", timedelta(hours=1), 60),
    ("day", "last day", timedelta(days=1), 24),
    ("week", "last week", timedelta(days=7), 28),
)
RUNNING_LIMIT = 100
UPCOMING = 3
# The overview's "needs attention" panel: a few of each, the full lists are a click away.
ATTENTION_FAILURES = 5
ATTENTION_FAILURES_SCAN = 2_000
ATTENTION_NEXT_FIRES = 5


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def overview(*, now: datetime | None = None) -> dict:
    """Per queue: counts by status, paused and rate-limit state, last hour's throughput and
    latency, sparklines of the last hour, day and week; and the totals across queues."""
    now = now or timezone.now()
    queues = queue_names()
    counts = queue_status_counts(queues)
    paused = paused_queues()
    limits = {
        s.name: s for s in QueueState.objects.filter(name__in=queues, rate_limit_max__isnull=False)
    }
    until = floor_minute(now)
    windows = {}
    for key, _title, length, points in WINDOWS:
        # Percentiles are shown for the last hour only: the longer windows need counts.
        read = series if key == "hour" else count_series
        windows[key] = read(since=until - length, until=until, points=points)
    rows = []
    for queue in queues:
        hour = windows["hour"].get(queue, [])
        totals = Totals()
        for step in hour:
            totals.add(step)
        summary = totals.summary(60)
        limit = limits.get(queue)
        rows.append(
            {
                "name": queue,
                "counts": [(s, counts[queue][s]) for s in STATUSES],
                "total": sum(counts[queue].values()),
                "paused": is_paused(queue, paused),
                "rate_limit": (
                    f"{limit.rate_limit_max} / {limit.rate_limit_duration_ms} ms" if limit else ""
                ),
                "summary": summary,
                "wait": f"{_ms(summary['waitP50Ms'])} / {_ms(summary['waitP95Ms'])}",
                "run": f"{_ms(summary['runP50Ms'])} / {_ms(summary['runP95Ms'])}",
                "sparklines": [
                    _sparkline(windows[key].get(queue), title, length / points, queue)
                    for key, title, length, points in WINDOWS
                ],
            }
        )
    all_hour = windows["hour"].get("*")
    activity = {
        "counts": [(s, sum(counts[q][s] for q in queues)) for s in STATUSES],
        "total": sum(sum(c.values()) for c in counts.values()),
        "sparklines": [
            _sparkline(windows[key].get("*"), title, length / points, "all queues")
            for key, title, length, points in WINDOWS
        ],
        "completed_last_hour": sum(s.completed for s in all_hour) if all_hour else 0,
        "failed_last_hour": sum(s.failed for s in all_hour) if all_hour else 0,
    }
    return {
        "statuses": STATUSES,
        "queues": rows,
        "activity": activity,
        "windows": [title for _key, title, _length, _points in WINDOWS],
        "generated_at": now,
    }


def attention(*, now: datetime | None = None) -> dict:
    """The overview's answers to "is it healthy, what is stuck, what failed and why, what
    runs next": the health checks' issues (the same as ``/api/jobs/health``), the most
    frequent failures among the newest failed jobs, and the next schedule fires."""
    now = now or timezone.now()
    health = system_health(now=now)
    issues = [
        *health["degraded"],
        *health["queues"]["issues"],
        *health["scheduledJobs"]["issues"],
        *health["workers"]["issues"],
        *(f"alert: {a['message']}" for a in health["alerts"] if a.get("message")),
    ]
    groups, _read = failure_groups(scan=ATTENTION_FAILURES_SCAN)
    fires = sorted(
        (
            (fire, entry["name"], entry.get("task", ""))
            for entry in schedules(now=now)
            for fire in entry["upcoming"][:1]
        ),
        key=lambda item: item[0],
    )[:ATTENTION_NEXT_FIRES]
    return {
        "healthy": health["healthy"],
        "issues": issues,
        "failures": groups[:ATTENTION_FAILURES],
        "next_fires": [{"at": at, "name": name, "task": task} for at, name, task in fires],
    }


def _sparkline(steps: list[Totals] | None, title: str, step: timedelta, subject: str):
    minutes = step.total_seconds() / 60
    steps = steps or []
    return sparkline(
        {
            "completed": [s.completed / minutes for s in steps],
            "failed": [s.failed / minutes for s in steps],
        },
        label=f"{subject}: completed and failed jobs per minute, {title}",
    )


def live(*, now: datetime | None = None) -> dict:
    """The running jobs and the live workers, as JSON for the live page."""
    now = now or timezone.now()
    running = (
        Job.objects.filter(status=JobStatus.ACTIVE)
        .order_by("started_at")
        .values("id", "task", "queue", "worker", "progress", "progress_message", "started_at")[
            :RUNNING_LIMIT
        ]
    )
    children: dict[str, int] = {}
    for host in live_workers(role="child", now=now).values_list("hostname", flat=True):
        children[host] = children.get(host, 0) + 1
    workers = live_workers(role="main", now=now).order_by("name")
    return {
        "now": now.isoformat(),
        "running": [
            {
                "job_id": str(row["id"]),
                "task": row["task"],
                "queue": row["queue"],
                "worker": row["worker"],
                "progress": row["progress"],
                "progress_message": row["progress_message"],
                "started_at": row["started_at"].isoformat() if row["started_at"] else None,
            }
            for row in running
        ],
        "workers": [_worker(w, children) for w in workers],
    }


def _worker(worker: WorkerProcess, children: dict[str, int]) -> dict:
    return {
        "name": worker.name,
        "queues": [q for q in worker.queues.split(",") if q],
        "pool": worker.pool,
        "processes": children.get(worker.hostname, 0),
        "started_at": worker.started_at.isoformat(),
        "last_seen": worker.last_seen.isoformat(),
    }


def schedules(*, now: datetime | None = None) -> list[dict]:
    """Every periodic task: its next fires, its last fire and whether a slot was missed."""
    now = now or datetime.now(UTC)
    summary = scheduler_summary(now=now)["jobs"]
    names = [s["name"] for s in summary]
    tasks = {
        t.name: t for t in PeriodicTask.objects.select_related(*RELATED).filter(name__in=names)
    }
    last = {
        row["schedule"]: row
        for row in ScheduleFire.objects.filter(schedule__in=names)
        .values("schedule")
        .annotate(slot=Max("slot"), fired_at=Max("fired_at"))
    }
    result = []
    for status in summary:
        task = tasks.get(status["name"])
        spec = schedule_spec_of(task) if task is not None and task.enabled else None
        upcoming = spec.next_fires(now, UPCOMING) if spec is not None else []
        fire = last.get(status["name"])
        result.append(
            {
                **status,
                "upcoming": upcoming,
                "last_fire": fire["fired_at"] if fire else None,
                "last_slot": fire["slot"] if fire else None,
            }
        )
    return result
