"""When a queue counts as unhealthy: the thresholds the health answer and the alert rules
share, so the two never disagree about the same queue."""

from jobs.conf import jobs_settings
from jobs.ledger.selectors import WindowStats


def failure_rate_exceeded(stats: WindowStats | None) -> bool:
    """More than JOBS_ALERT_FAILURE_RATE % of the queue's jobs finished in the window
    failed, counted only once JOBS_ALERT_MIN_SAMPLE jobs finished (a single failure of two
    jobs is not an alert)."""
    return (
        stats is not None
        and stats.finished >= jobs_settings().alert_min_sample
        and stats.failure_rate is not None
        and stats.failure_rate > jobs_settings().alert_failure_rate
    )


def backlog_exceeded(waiting: int) -> bool:
    """More than JOBS_ALERT_WAITING_THRESHOLD jobs wait on the queue."""
    return waiting > jobs_settings().alert_waiting_threshold
