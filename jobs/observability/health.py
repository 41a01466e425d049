"""The operator's health answer (getJobSystemHealth): queues, scheduled jobs and workers,
each with its issues, plus the open alerts. (``/healthz`` is the load balancer's probe; this
is the operator's.)"""

from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from jobs.cache import cache_outage
from jobs.conf import jobs_settings
from jobs.ledger import selectors
from jobs.ledger.broker import redis_client
from jobs.ledger.models import JobStatus
from jobs.ledger.queues import is_paused, paused_queues
from jobs.ledger.workers import down_workers, live_workers
from jobs.observability.alerts import alert_as_dict, open_alerts
from jobs.observability.thresholds import backlog_exceeded, failure_rate_exceeded
from jobs.scheduling.operations import scheduler_summary

WORKERS_CACHE_KEY = "jobs:health:workers"


def queues_health(now: datetime) -> dict:
    counts = selectors.queue_status_counts()
    last_hour = selectors.finished_window_stats(
        since=now - selectors.WINDOW, until=now + timedelta(seconds=1)
    )
    paused = paused_queues()
    issues: list[str] = []
    unhealthy = 0
    for queue, c in counts.items():
        found = []
        if is_paused(queue, paused):
            found.append(f"queue {queue} is paused ({c[JobStatus.WAITING]} jobs held)")
        if backlog_exceeded(c[JobStatus.WAITING]):
            found.append(f"queue {queue} has {c[JobStatus.WAITING]} waiting jobs")
        stats = last_hour.get(queue)
        if stats is not None and failure_rate_exceeded(stats):
            found.append(f"queue {queue} failure rate is {stats.failure_rate}% in the last hour")
        unhealthy += bool(found)
        issues.extend(found)
    return {
        "total": len(counts),
        "healthy": len(counts) - unhealthy,
        "unhealthy": unhealthy,
        "issues": issues,
    }


def scheduled_jobs_health(now: datetime) -> dict:
    summary = scheduler_summary(now=now)
    missed = [j for j in summary["jobs"] if j.get("missed_slot")]
    return {
        "total": summary["total"],
        "running": summary["running"],
        "stopped": summary["stopped"],
        "missed": len(missed),
        "issues": [
            f"scheduled job {j['name']} missed its run at {j['missed_slot']}" for j in missed
        ],
    }


def workers_health(now: datetime) -> dict:
    """Live worker processes from their heartbeats; cached for a few seconds, since every
    open dashboard polls this."""
    cached = cache.get(WORKERS_CACHE_KEY)
    if cached is not None:
        return cached
    live = list(live_workers(role="main", now=now).order_by("name").values_list("name", flat=True))
    children = live_workers(role="child", now=now).count()
    down = down_workers(now)
    issues = [f"worker {w.name} is down (last heartbeat {w.last_seen.isoformat()})" for w in down]
    if not live:
        issues.insert(0, "no worker has sent a heartbeat recently")
    answer = {
        "total": len(live) + len(down),
        "active": len(live),
        "processes": children,
        "live": live,
        "down": [w.name for w in down],
        "issues": issues,
    }
    cache.set(WORKERS_CACHE_KEY, answer, jobs_settings().health_cache_seconds)
    return answer


def degraded_dependencies() -> list[str]:
    """What works in a reduced way because Redis is down (the database answered, or this
    would not run): each entry says what still holds."""
    found = []
    try:
        redis_client().ping()
    except Exception as exc:
        found.append(
            f"Redis (broker) is unreachable ({type(exc).__name__}): jobs are accepted and "
            "wait in the ledger; they are published when it answers again"
        )
    outage = cache_outage()
    if outage is not None:
        found.append(
            "Redis (cache) is unreachable: throttles and cached answers are kept per process "
            "until it answers again"
        )
    return found


def system_health(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    degraded = degraded_dependencies()
    queues = queues_health(now)
    scheduled = scheduled_jobs_health(now)
    workers = workers_health(now)
    alerts = [alert_as_dict(a) for a in open_alerts()]
    healthy = not (
        degraded or queues["issues"] or scheduled["issues"] or workers["issues"] or alerts
    )
    return {
        "healthy": healthy,
        "degraded": degraded,
        "queues": queues,
        "scheduledJobs": scheduled,
        "workers": workers,
        "alerts": alerts,
        "checkedAt": now.isoformat(),
    }
