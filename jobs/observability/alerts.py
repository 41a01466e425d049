"""The recommended alert rules, evaluated every minute by the ``jobs.evaluate_alerts`` task.

An alert is a condition on a subject (a queue, a worker, a schedule). The evaluation that
first sees it opens an ``Alert`` row and the admins get one mail; later evaluations only
touch ``last_seen_at`` while the condition holds; the first evaluation that no longer sees
it resolves the row. The partial unique index on open (rule, subject) rows is what keeps two
concurrent evaluations from opening (and mailing) the same alert twice.

Rules:
- failure_rate: more than JOBS_ALERT_FAILURE_RATE % of a queue's jobs finished in the last
  hour failed (only with at least JOBS_ALERT_MIN_SAMPLE finished jobs);
- queue_backlog: more than JOBS_ALERT_WAITING_THRESHOLD waiting jobs on a queue;
- slow_processing: a queue's average processing time in the last hour is over
  JOBS_ALERT_SLOW_FACTOR times its baseline (the 24 hours before that hour);
- worker_down: a worker main process stopped sending heartbeats (within the last
  JOBS_ALERT_WORKER_DOWN_WINDOW seconds) without shutting down cleanly;
- schedule_missed: an enabled schedule's latest slot did not fire (jobs.scheduling).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from jobs.conf import jobs_settings
from jobs.ledger import selectors
from jobs.ledger.models import JobStatus
from jobs.ledger.workers import down_workers
from jobs.observability.models import Alert, AlertRule
from jobs.observability.thresholds import backlog_exceeded, failure_rate_exceeded
from jobs.scheduling.operations import PLATFORM_TASKS_PREFIX, schedule_missed

log = logging.getLogger(__name__)

BASELINE_CACHE_KEY = "jobs:alerts:baseline"


@dataclass(frozen=True)
class Condition:
    rule: str
    subject: str
    message: str
    details: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.subject)


@dataclass
class Observations:
    """What the rules look at, read once per evaluation."""

    now: datetime
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    last_hour: dict[str, selectors.WindowStats] = field(default_factory=dict)

    @classmethod
    def read(cls, now: datetime) -> "Observations":
        return cls(
            now=now,
            counts=selectors.queue_status_counts(),
            last_hour=selectors.finished_window_stats(
                since=now - selectors.WINDOW, until=now + timedelta(seconds=1)
            ),
        )


# --- the rules ---------------------------------------------------------------------------
def rule_failure_rate(obs: Observations) -> list[Condition]:
    threshold = jobs_settings().alert_failure_rate
    found = []
    for queue, stats in obs.last_hour.items():
        rate = stats.failure_rate
        if failure_rate_exceeded(stats):
            found.append(
                Condition(
                    AlertRule.FAILURE_RATE,
                    queue,
                    f"{rate}% of the jobs on queue {queue} failed in the last hour "
                    f"({stats.failed} of {stats.finished}; threshold {threshold}%)",
                    {"failureRate": rate, "failed": stats.failed, "finished": stats.finished},
                )
            )
    return found


def rule_queue_backlog(obs: Observations) -> list[Condition]:
    threshold = jobs_settings().alert_waiting_threshold
    return [
        Condition(
            AlertRule.QUEUE_BACKLOG,
            queue,
            f"{c[JobStatus.WAITING]} jobs are waiting on queue {queue} (threshold {threshold})",
            {"waiting": c[JobStatus.WAITING], "threshold": threshold},
        )
        for queue, c in obs.counts.items()
        if backlog_exceeded(c[JobStatus.WAITING])
    ]


def processing_baseline(now: datetime) -> dict[str, float]:
    """Average processing time (ms) per queue over the 24 hours before the last hour.
    It moves slowly, so it is cached for a few minutes."""
    cached = cache.get(BASELINE_CACHE_KEY)
    if cached is not None:
        return cached
    stats = selectors.finished_window_stats(
        since=now - timedelta(hours=25), until=now - selectors.WINDOW
    )
    minimum = jobs_settings().alert_slow_min_sample
    baseline = {
        queue: s.avg_ms
        for queue, s in stats.items()
        if s.avg_ms is not None and s.completed >= minimum
    }
    cache.set(BASELINE_CACHE_KEY, baseline, jobs_settings().alert_baseline_cache_seconds)
    return baseline


def rule_slow_processing(obs: Observations) -> list[Condition]:
    factor = jobs_settings().alert_slow_factor
    minimum = jobs_settings().alert_slow_min_sample
    baseline = processing_baseline(obs.now)
    found = []
    for queue, stats in obs.last_hour.items():
        normal = baseline.get(queue)
        if not normal or stats.avg_ms is None or stats.completed < minimum:
            continue
        if stats.avg_ms > factor * normal:
            found.append(
                Condition(
                    AlertRule.SLOW_PROCESSING,
                    queue,
                    f"jobs on queue {queue} took {stats.avg_ms:.0f} ms on average in the last "
                    f"hour, over {factor:g}x their usual {normal:.0f} ms",
                    {"avgProcessingTime": stats.avg_ms, "baseline": normal, "factor": factor},
                )
            )
    return found


def rule_worker_down(obs: Observations) -> list[Condition]:
    return [
        Condition(
            AlertRule.WORKER_DOWN,
            w.name,
            f"worker {w.name} stopped sending heartbeats at {w.last_seen.isoformat()}",
            {"lastSeen": w.last_seen.isoformat(), "hostname": w.hostname, "pid": w.pid},
        )
        for w in down_workers(obs.now)
    ]


def rule_schedule_missed(obs: Observations) -> list[Condition]:
    found = []
    # Cron and interval (`every`) schedules; clocked and solar ones have no slots to miss.
    tasks = (
        PeriodicTask.objects.filter(enabled=True)
        .filter(Q(crontab__isnull=False) | Q(interval__isnull=False))
        .select_related("crontab", "interval", "ledger_options")
    )
    for task in tasks:
        if task.task.startswith(PLATFORM_TASKS_PREFIX):
            continue
        slot = schedule_missed(task, obs.now)
        if slot is not None:
            found.append(
                Condition(
                    AlertRule.SCHEDULE_MISSED,
                    task.name,
                    f"scheduled job {task.name} ({task.task}) did not run at {slot.isoformat()}",
                    {"slot": slot.isoformat(), "task": task.task},
                )
            )
    return found


RULES: dict[str, Callable[[Observations], list[Condition]]] = {
    AlertRule.FAILURE_RATE: rule_failure_rate,
    AlertRule.QUEUE_BACKLOG: rule_queue_backlog,
    AlertRule.SLOW_PROCESSING: rule_slow_processing,
    AlertRule.WORKER_DOWN: rule_worker_down,
    AlertRule.SCHEDULE_MISSED: rule_schedule_missed,
}


def alert_conditions(now: datetime) -> tuple[list[Condition], set[str]]:
    """Every condition that holds now, and the rules that could be evaluated (a rule that
    raised keeps its open alerts open rather than resolving them blindly)."""
    obs = Observations.read(now)
    conditions: list[Condition] = []
    evaluated: set[str] = set()
    for rule, check in RULES.items():
        try:
            conditions.extend(check(obs))
            evaluated.add(rule)
        except Exception:
            log.exception("alert rule %s could not be evaluated", rule)
    return conditions, evaluated


# --- the alert lifecycle -------------------------------------------------------------------
def alerts_evaluate(*, now: datetime | None = None) -> dict:
    """Open new alerts, refresh ongoing ones, resolve cleared ones, mail the new ones."""
    now = now or timezone.now()
    conditions, evaluated = alert_conditions(now)
    open_alerts = {(a.rule, a.subject): a for a in Alert.objects.filter(resolved_at=None)}
    opened: list[str] = []
    seen: set[tuple[str, str]] = set()
    for condition in conditions:
        if condition.key in seen:
            continue
        seen.add(condition.key)
        existing = open_alerts.get(condition.key)
        if existing is not None:
            Alert.objects.filter(pk=existing.pk).update(
                last_seen_at=now, message=condition.message, details=condition.details
            )
            continue
        try:
            with transaction.atomic():
                Alert.objects.create(
                    rule=condition.rule,
                    subject=condition.subject,
                    message=condition.message,
                    details=condition.details,
                    opened_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:
            continue  # a concurrent evaluation opened it (and mails it)
        opened.append(f"{condition.rule}:{condition.subject}")
    cleared = [a.pk for key, a in open_alerts.items() if key not in seen and a.rule in evaluated]
    resolved = Alert.objects.filter(pk__in=cleared, resolved_at=None).update(resolved_at=now)
    mailed = alerts_notify(now=now)
    return {
        "opened": opened,
        "resolved": resolved,
        "open": Alert.objects.filter(resolved_at=None).count(),
        "mailed": mailed,
    }


def alerts_notify(*, now: datetime | None = None) -> int:
    """Mail the admins about each open alert not mailed yet. A conditional UPDATE claims
    each alert first, so concurrent evaluations never mail the same alert twice; a failed
    send is released and tried again by the next evaluation."""
    now = now or timezone.now()
    mailed = 0
    for alert in Alert.objects.filter(resolved_at=None, notified_at=None).order_by("opened_at"):
        if not Alert.objects.filter(pk=alert.pk, notified_at=None).update(notified_at=now):
            continue
        try:
            mail_admins(
                subject=f"Alert: {alert.message}"[:200],
                message=(
                    f"{alert.get_rule_display()}\n\n{alert.message}\n\n"
                    f"Opened at {alert.opened_at.isoformat()}. You will not be mailed again "
                    "while it lasts; GET /api/jobs/health lists the open alerts.\n\n"
                    f"Details: {alert.details}"
                ),
                fail_silently=False,
            )
            mailed += 1
        except Exception:
            log.exception("could not mail the admins about alert %s", alert.pk)
            Alert.objects.filter(pk=alert.pk).update(notified_at=None)
    return mailed


def open_alerts() -> list[Alert]:
    return list(Alert.objects.filter(resolved_at=None).order_by("opened_at"))


def alert_as_dict(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "rule": alert.rule,
        "subject": alert.subject,
        "message": alert.message,
        "details": alert.details,
        "openedAt": alert.opened_at.isoformat(),
        "lastSeenAt": alert.last_seen_at.isoformat(),
        "resolvedAt": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "notified": alert.notified_at is not None,
    }
