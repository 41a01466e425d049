"""One log line per job transition (enqueued, started, retried, failed, completed,
cancelled), on the ``jobs.transitions`` logger, emitted where the transition happens.

The fields go in the record's ``extra``, so the JSON format (``LOG_FORMAT=json``) writes
each as a key: ``transition``, ``job_id``, ``task``, ``queue``, ``attempt``, ``wait_ms``
(due time to start), ``run_ms`` (start to finish), ``outcome``. The text format reads them
in the message. Setting the logger's level above INFO turns the lines off; the check comes
first, so a disabled line costs one comparison.
"""

import logging
from datetime import UTC, datetime

log = logging.getLogger("jobs.transitions")
INFO = logging.INFO


def _aware(moment: datetime) -> datetime:
    # The ledger stores UTC; SQLite's raw cursor hands it back without its zone.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def transitions_logged(level: int = INFO) -> bool:
    """Whether transition lines are written: callers check it before working out durations,
    so a job pays one comparison when the lines are off."""
    return log.isEnabledFor(level)


def ms_between(start: datetime | None, end: datetime | None) -> float | None:
    """Milliseconds from ``start`` to ``end`` (0 if negative); None if either is unknown."""
    if start is None or end is None:
        return None
    return round(max((_aware(end) - _aware(start)).total_seconds() * 1000, 0.0), 3)


def log_transition(
    transition: str,
    *,
    job_id: str,
    task: str,
    queue: str,
    attempt: int | None = None,
    wait_ms: float | None = None,
    run_ms: float | None = None,
    outcome: str | None = None,
    level: int = INFO,
) -> None:
    if not transitions_logged(level):
        return
    fields = {
        "transition": transition,
        "job_id": str(job_id),
        "task": task,
        "queue": queue,
        "attempt": attempt,
        "wait_ms": wait_ms,
        "run_ms": run_ms,
        "outcome": outcome or transition,
    }
    log.log(
        level,
        "job %s %s: task=%s queue=%s attempt=%s wait_ms=%s run_ms=%s",
        job_id,
        transition,
        task,
        queue,
        attempt,
        wait_ms,
        run_ms,
        extra=fields,
    )
