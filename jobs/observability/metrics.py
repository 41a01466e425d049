"""Per-queue metrics and the activity summary, in the shape operators' tools expect
(BullMQ's getQueueMetrics / getJobActivitySummary vocabulary), built from the ledger's
index-backed selectors plus the broker's queue depths."""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.utils import timezone

from jobs.ledger.broker import queue_depths
from jobs.ledger.models import JobStatus, QueueState
from jobs.ledger.queues import is_paused, paused_queues, queue_names
from jobs.ledger.selectors import WINDOW, WindowStats, finished_window_stats, queue_status_counts
from jobs.observability.rollups import Totals, floor_minute, window_totals

log = logging.getLogger(__name__)


def broker_depths(queues: list[str]) -> Mapping[str, int | None]:
    """Messages in Redis per queue; None when Redis cannot be asked (metrics still answer)."""
    try:
        return dict(queue_depths(queues))
    except Exception as exc:  # the ledger's numbers matter more than the broker's
        log.warning("broker depth unavailable: %s", exc)
        return dict.fromkeys(queues)


def _rate(part: int, total: int) -> float:
    return round(100.0 * part / total, 2) if total else 0.0


def queue_metrics_list(queues: list[str] | None = None, *, now: datetime | None = None) -> list:
    """Each queue's metrics (getQueueMetrics)."""
    now = now or timezone.now()
    queues = list(queues) if queues is not None else queue_names()
    counts = queue_status_counts(queues)
    window = finished_window_stats(since=now - WINDOW, until=now + timedelta(seconds=1))
    paused = paused_queues()
    depths = broker_depths(queues)
    # The history: closed minutes from the rollups (the current minute is not in them yet).
    until = floor_minute(now)
    hour = window_totals(since=until - WINDOW, until=until, queues=queues)
    result = []
    for queue in queues:
        c = counts[queue]
        total = sum(c.values())
        stats = window.get(queue, WindowStats())
        queue_paused = is_paused(queue, paused)
        result.append(
            {
                "queueName": queue,
                "waiting": c[JobStatus.WAITING],
                "active": c[JobStatus.ACTIVE],
                "completed": c[JobStatus.COMPLETED],
                "failed": c[JobStatus.FAILED],
                "delayed": c[JobStatus.DELAYED],
                "cancelled": c[JobStatus.CANCELLED],
                # BullMQ's "paused" count: jobs held back because the queue is paused.
                "paused": c[JobStatus.WAITING] if queue_paused else 0,
                "isPaused": queue_paused,
                "total": total,
                "completionRate": _rate(c[JobStatus.COMPLETED], total),
                "failureRate": _rate(c[JobStatus.FAILED], total),
                "avgProcessingTime": stats.avg_ms,
                "p95ProcessingTime": stats.p95_ms,
                "lastHour": {
                    "completed": stats.completed,
                    "failed": stats.failed,
                    "failureRate": stats.failure_rate,
                },
                "brokerDepth": depths.get(queue),
                "history": {
                    "lastHour": hour.get(queue, Totals()).summary(60),
                },
            }
        )
    return result


def queue_metrics(queue: str, *, now: datetime | None = None) -> dict:
    return queue_metrics_list([queue], now=now)[0]


def activity_summary(*, now: datetime | None = None) -> dict:
    """The activity summary (getJobActivitySummary): every queue's metrics and the totals."""
    queues = queue_metrics_list(now=now)
    totals = {
        key: sum(q[key] for q in queues)
        for key in ("total", "active", "completed", "failed", "waiting", "delayed", "cancelled")
    }
    return {
        "queues": queues,
        "totalJobs": totals["total"],
        "activeJobs": totals["active"],
        "completedJobs": totals["completed"],
        "failedJobs": totals["failed"],
        "waitingJobs": totals["waiting"],
        "delayedJobs": totals["delayed"],
        "cancelledJobs": totals["cancelled"],
        "overallCompletionRate": _rate(totals["completed"], totals["total"]),
        "overallFailureRate": _rate(totals["failed"], totals["total"]),
        "generatedAt": (now or timezone.now()).isoformat(),
    }


def queue_status_overview() -> dict:
    """``GET /api/jobs/status``: each queue's counts and whether it is paused."""
    queues = queue_names()
    counts = queue_status_counts(queues)
    paused = paused_queues()
    return {
        "paused": QueueState.ALL in paused,
        "queues": {q: {**counts[q], "isPaused": is_paused(q, paused)} for q in queues},
    }
