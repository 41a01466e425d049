"""A job's life as the ledger tells it: the events of its row and of its attempts history,
oldest first, for the admin's job page.

The ledger keeps the current row (its latest times, outcome, worker) and one ``JobAttempt``
per attempt that did not succeed (error, traceback, worker, times). A successful or running
attempt is the row itself, and a retried attempt's backoff ends where the next attempt
starts (or, for the attempt the job now waits on, at the row's ``scheduled_for``).
"""

from dataclasses import dataclass
from datetime import datetime

from jobs.ledger.models import AttemptOutcome, Job, JobAttempt, JobStatus


@dataclass(frozen=True)
class Event:
    at: datetime | None
    # enqueued, published, started, error, lost, backoff, completed, failed, cancelled, due
    kind: str
    title: str
    detail: str = ""
    traceback: str = ""


def _describe_error(attempt: JobAttempt) -> Event:
    kind = "lost" if attempt.outcome == AttemptOutcome.LOST else "error"
    verbs: dict[str, str] = {
        AttemptOutcome.RETRIED: "raised, will be retried",
        AttemptOutcome.FAILED: "raised, no attempts left",
        AttemptOutcome.LOST: "lost its worker",
    }
    verb = verbs.get(attempt.outcome, attempt.outcome)
    return Event(
        at=attempt.finished_at,
        kind=kind,
        title=f"Attempt {attempt.number} {verb}",
        detail=attempt.error,
        traceback=attempt.traceback,
    )


def job_timeline(*, job: Job, attempts: list[JobAttempt]) -> list[Event]:
    """Every event the ledger recorded for ``job``, oldest first. ``attempts``: its
    ``JobAttempt`` rows in the order they were written."""
    events = [
        Event(
            at=job.created_at,
            kind="enqueued",
            title=f"Enqueued on queue {job.queue}",
            detail=(
                f"due at {job.scheduled_for:%Y-%m-%d %H:%M:%S}"
                if job.scheduled_for and job.scheduled_for > job.created_at
                else ""
            ),
        )
    ]
    # Whether the row's own attempt (running, completed, or the final failure) is also in
    # the history: the history is matched by start time, since an operator's retry starts
    # the numbering again.
    row_attempt_recorded = job.started_at is not None and any(
        a.started_at == job.started_at for a in attempts
    )
    failure_recorded = bool(attempts) and attempts[-1].outcome == AttemptOutcome.FAILED
    for index, attempt in enumerate(attempts):
        if attempt.started_at:
            events.append(
                Event(
                    at=attempt.started_at,
                    kind="started",
                    title=f"Attempt {attempt.number} started",
                    detail=f"on worker {attempt.worker}" if attempt.worker else "",
                )
            )
        events.append(_describe_error(attempt))
        if attempt.outcome != AttemptOutcome.FAILED:
            later = attempts[index + 1] if index + 1 < len(attempts) else None
            if later is not None and later.started_at:
                detail = f"the next attempt started at {later.started_at:%Y-%m-%d %H:%M:%S}"
            elif later is None and job.status == JobStatus.DELAYED:
                detail = f"next run at {job.scheduled_for:%Y-%m-%d %H:%M:%S}"
            elif later is None and job.started_at and not row_attempt_recorded:
                detail = f"the next attempt started at {job.started_at:%Y-%m-%d %H:%M:%S}"
            else:
                detail = "requeued"
            events.append(
                Event(at=attempt.finished_at, kind="backoff", title="Backoff", detail=detail)
            )
    if job.published_at:
        events.append(Event(at=job.published_at, kind="published", title="Published to the broker"))
    # The attempt the row itself describes: running now, or the one that completed.
    if job.started_at and not row_attempt_recorded:
        events.append(
            Event(
                at=job.started_at,
                kind="started",
                title=f"Attempt {job.attempts} started",
                detail=f"on worker {job.worker}" if job.worker else "",
            )
        )
    if job.status == JobStatus.COMPLETED:
        events.append(Event(at=job.finished_at, kind="completed", title="Completed"))
    elif job.status == JobStatus.FAILED and not failure_recorded:
        # A failure without an attempt row: recorded as failed by the platform itself
        # (an unknown task, a poison job) rather than by a raising attempt.
        events.append(
            Event(
                at=job.finished_at,
                kind="failed",
                title="Failed",
                detail=job.error,
                traceback=job.traceback,
            )
        )
    elif job.status == JobStatus.FAILED:
        events.append(Event(at=job.finished_at, kind="failed", title="Failed (dead letter)"))
    elif job.status == JobStatus.CANCELLED:
        events.append(Event(at=job.finished_at, kind="cancelled", title="Cancelled"))
    elif job.status == JobStatus.DELAYED and not attempts:
        events.append(
            Event(at=job.scheduled_for, kind="due", title="Waits in the ledger until it is due")
        )
    # Sorted by time, the order of writing breaking ties (a backoff follows its error).
    order = {id(e): n for n, e in enumerate(events)}
    return sorted(events, key=lambda e: (e.at is None, e.at or job.created_at, order[id(e)]))
