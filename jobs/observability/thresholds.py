"""When a queue counts as unhealthy: the thresholds the health answer and the alert rules
share, so the two never disagree about the same queue."""

from django.conf import settings

from jobs.ledger.selectors import WindowStats


def failure_rate_exceeded(stats: WindowStats | None) -> bool:
    """More than JOBS_ALERT_FAILURE_RATE % of the queue's jobs finished in the window
    failed, counted only once JOBS_ALERT_MIN_SAMPLE jobs finished (a single failure of two
    jobs is not an alert)."""
    return (
        stats is not None
        and stats.finished >= settings.JOBS_ALERT_MIN_SAMPLE
        and stats.failure_rate is not None
        and stats.failure_rate > settings.JOBS_ALERT_FAILURE_RATE
    )


def backlog_exceeded(waiting: int) -> bool:
    """More than JOBS_ALERT_WAITING_THRESHOLD jobs wait on the queue."""
    return waiting > settings.JOBS_ALERT_WAITING_THRESHOLD
