"""What a worker does to a ledger row: claim it, finish it, retry it, fail it.

Each step is one conditional statement, so a redelivered or duplicated message, a crashed
worker and the reaper can race freely: whoever matches the row's current state wins, the
others change nothing. ``attempts`` doubles as the fencing token of an attempt.
"""

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.mail import mail_admins
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from jobs.conf import jobs_settings
from jobs.ledger import prepared, sql
from jobs.ledger.models import AttemptOutcome, Job, JobAttempt, JobStatus, QueueState
from jobs.ledger.queues import paused_queues

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    job_id: str
    attempts: int
    max_attempts: int
    worker: str
    # The job's own options, returned by the claim itself (no SELECT): its backoff
    # ({"type", "delay" ms}) and whether it leaves the ledger as it completes / fails.
    backoff: dict | None = None
    remove_on_complete: bool = False
    remove_on_fail: bool = False
    # For the transition log's queue, wait and run time, from the same statement.
    queue: str = ""
    scheduled_for: datetime | None = None
    started_at: datetime | None = None
    # What the job's end sets off when it is a step of a workflow (jobs.ledger.workflows);
    # None for every other job, which is all the completion path checks.
    continuation: dict | None = None

    @classmethod
    def of_job(cls, job: Job) -> "Claim":
        """The claim an active row stands for (the time-limit path, outside the attempt)."""
        return cls(
            str(job.id),
            job.attempts,
            job.max_attempts,
            job.worker,
            backoff=job.backoff,
            remove_on_complete=job.remove_on_complete is True,
            remove_on_fail=job.remove_on_fail is True,
            queue=job.queue,
            scheduled_for=job.scheduled_for,
            started_at=job.started_at,
            continuation=job.continuation,
        )


# The statuses the hot path's statements take, as plain str: psycopg finds the dumper of
# an enum member by walking its class's MRO on every statement; a str's is one lookup.
_WAITING, _ACTIVE, _COMPLETED = (
    str.__str__(s) for s in (JobStatus.WAITING, JobStatus.ACTIVE, JobStatus.COMPLETED)
)


def _pk(job_id: str):
    """The id as the database takes it: what the primary key field's ``to_python`` and
    ``get_db_prep_value`` give, without going through them twice per job."""
    try:
        value = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(job_id)
    except (TypeError, ValueError, AttributeError):
        # Not a UUID: the field raises its own error, as for any ORM lookup.
        return Job._meta.pk.get_db_prep_value(Job._meta.pk.to_python(job_id), connection)
    return value if connection.features.has_native_uuid_field else value.hex


# SQLSTATEs of a server that is going away: shutdown, crash, not yet accepting connections.
_SERVER_GOING_AWAY = {"57P01", "57P02", "57P03"}


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is the database connection failing (server down, restarting, the
    connection terminated), as opposed to a statement's own error (a deadlock, a timeout,
    a constraint)."""
    if isinstance(exc, InterfaceError):
        return True  # the connection was already closed
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    # No SQLSTATE: the server never answered (refused, socket closed, pool timeout).
    return state is None or state.startswith("08") or state in _SERVER_GOING_AWAY


def reconnecting(statement):
    """Run a single-statement ledger write, waiting out a database outage.

    If the connection fails (database restart, outage, idle timeout), reconnect and run it
    again, backing off from 0.2 s to 5 s, for up to ``JOBS_DATABASE_OUTAGE_WAIT`` seconds;
    then the error is raised. Each statement is atomic and fenced by the row's state, so a
    retry never applies it twice. A worker process waiting here takes no new message, which
    is what stops a worker from draining its queue into a dead database."""
    deadline = None
    delay = 0.2
    while True:
        try:
            return statement()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block:
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + jobs_settings().database_outage_wait
                log.warning("database unreachable (%s); waiting for it", exc)
            if now >= deadline:
                raise
            connection.close()
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, 5.0)


def job_claim(*, job_id: str, worker: str) -> Claim | None:
    """Move a waiting job to active for this worker; None if it is not ours to run."""
    started_at = timezone.now()
    params = [
        _ACTIVE,
        started_at,
        worker,
        False,
        _pk(job_id),
        _WAITING,
        QueueState.ALL,
    ]

    # Outside a transaction, a PostgreSQL claim commits without waiting for the disk
    # (sql.CLAIM_ASYNC_COMMIT says why that is safe; job_claim_lost is the other half).
    statement = (
        sql.CLAIM_ASYNC_COMMIT
        if connection.vendor == "postgresql" and not connection.in_atomic_block
        else sql.CLAIM
    )
    row = reconnecting(lambda: prepared.execute(statement, params, fetch_one=True))
    if row is None:
        return None
    backoff = row[2]
    continuation = row[7]
    return Claim(
        job_id=job_id,
        attempts=row[0],
        max_attempts=row[1],
        worker=worker,
        # Django reads jsonb as text and decodes it in the field; no field here.
        backoff=json.loads(backoff) if isinstance(backoff, str | bytes) else backoff,
        remove_on_complete=bool(row[3]),
        remove_on_fail=bool(row[4]),
        queue=row[5],
        # SQLite's raw cursor hands timestamps back as text, in UTC without its zone.
        scheduled_for=(
            datetime.fromisoformat(row[6]).replace(tzinfo=UTC)
            if isinstance(row[6], str)
            else row[6]
        ),
        started_at=started_at,
        continuation=json.loads(continuation)
        if isinstance(continuation, str | bytes)
        else continuation,
    )


def job_claim_lost(*, claim: Claim) -> bool:
    """An attempt's finish was refused: if that is because its claim was lost (a database
    crash forgot the claim's commit, which does not wait for the disk: the row is back to
    ``waiting`` with the attempt uncounted), flag the job so the stager publishes it again.
    The message that carried it is acknowledged once this attempt returns, so nothing else
    would run it until the stale-waiting sweep, which waits for its queue to be empty.
    Flagging a job that is still in the broker only adds a duplicate message, which the
    claim turns away. Only called when a finish changed nothing: the hot path pays nothing."""
    flagged = Job.objects.filter(
        id=claim.job_id,
        status=JobStatus.WAITING,
        attempts=claim.attempts - 1,
        needs_publish=False,
    ).update(needs_publish=True)
    if flagged:
        log.warning(
            "job %s: the claim of attempt %d was lost (a database crash?); the job will be "
            "published again",
            claim.job_id,
            claim.attempts,
        )
    return bool(flagged)


def job_put_back_if_paused(*, job_id: str) -> bool:
    """A message for a paused queue's job is dropped; the job is republished on resume."""
    paused = paused_queues()
    if not paused:
        return False
    jobs = Job.objects.filter(id=job_id, status=JobStatus.WAITING)
    if QueueState.ALL not in paused:
        jobs = jobs.filter(queue__in=paused)
    return bool(jobs.update(needs_publish=True))


def _active(claim: Claim):
    return Job.objects.filter(id=claim.job_id, status=JobStatus.ACTIVE, attempts=claim.attempts)


def job_complete(*, claim: Claim, result) -> bool:
    """The hot path's second (and last) write: one statement, no ORM query building."""
    if claim.remove_on_complete:
        return _remove_finished(claim) is not None
    params = [
        _COMPLETED,
        timezone.now(),
        None
        if result is None
        else Job._meta.get_field("result").get_db_prep_value(result, connection),
        _pk(claim.job_id),
        _ACTIVE,
        claim.attempts,
    ]

    return bool(reconnecting(lambda: prepared.execute(sql.COMPLETE, params)))


def job_complete_step(*, claim: Claim, result) -> bool:
    """The completion of a workflow step, in the caller's transaction (the one that creates
    what the step sets off): the same fenced statement, never the removal of the row (a
    step's result is what its successors and its workflow's page read)."""
    params = [
        _COMPLETED,
        timezone.now(),
        None
        if result is None
        else Job._meta.get_field("result").get_db_prep_value(result, connection),
        _pk(claim.job_id),
        _ACTIVE,
        claim.attempts,
    ]
    return bool(prepared.execute(sql.COMPLETE, params))


def job_fail_step(*, claim: Claim, error: str, traceback: str) -> bool:
    """The failure of a workflow step, in the caller's transaction (the one that applies its
    error callbacks and cancels its dependants). The admins' mail is the caller's, after
    the commit."""
    return _end_attempt(
        claim=claim,
        status=JobStatus.FAILED,
        outcome=AttemptOutcome.FAILED,
        error=error,
        traceback=traceback,
    )


def _remove_finished(claim: Claim) -> tuple[str, str] | None:
    """Delete the row of an attempt that just ended (remove_on_complete / remove_on_fail
    true); returns its (task, queue), or None if the attempt no longer held the job."""
    params = [_pk(claim.job_id), _ACTIVE, claim.attempts]
    if connection.vendor != "postgresql":
        # No ON DELETE CASCADE on SQLite: the history goes in the same transaction.
        with transaction.atomic():
            row = prepared.execute(sql.REMOVE_FINISHED, params, fetch_one=True)
            if row is not None:
                JobAttempt.objects.filter(job_id=claim.job_id).delete()
            return row
    return reconnecting(lambda: prepared.execute(sql.REMOVE_FINISHED, params, fetch_one=True))


def _end_attempt(
    *, claim: Claim, status: str, outcome: str, error: str, traceback: str, retry_at=None
) -> bool:
    """Finish an attempt that raised and add it to the job's history, in one statement on
    PostgreSQL (a data-modifying CTE), in one transaction elsewhere."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            fields = {"status": status, "finished_at": now, "error": error, "traceback": traceback}
            if retry_at is not None:
                fields["scheduled_for"] = retry_at
            ended = _active(claim).update(**fields)
            if ended:
                job = Job.objects.only("worker", "started_at").get(id=claim.job_id)
                JobAttempt.objects.create(
                    job_id=claim.job_id,
                    number=claim.attempts,
                    worker=job.worker,
                    started_at=job.started_at,
                    finished_at=now,
                    outcome=outcome,
                    error=error,
                    traceback=traceback,
                )
            return bool(ended)
    params = [
        status,
        *([retry_at] if retry_at is not None else []),
        now,
        error,
        traceback,
        _pk(claim.job_id),
        _ACTIVE,
        claim.attempts,
        outcome,
    ]
    statement = sql.SCHEDULE_RETRY if retry_at is not None else sql.FAIL
    return bool(reconnecting(lambda: prepared.execute(statement, params)))


def job_schedule_retry(*, claim: Claim, delay: float, error: str, traceback: str) -> bool:
    """Store the next attempt in the ledger: durable however long the backoff is. The
    attempt that raised is kept in the job's history."""
    return _end_attempt(
        claim=claim,
        status=JobStatus.DELAYED,
        outcome=AttemptOutcome.RETRIED,
        error=error,
        traceback=traceback,
        retry_at=timezone.now() + timedelta(seconds=delay),
    )


def job_fail(*, claim: Claim, error: str, traceback: str) -> bool:
    """The dead-letter state. Admins get one mail per job: only the winning UPDATE sends it.
    With remove_on_fail true the job leaves the ledger instead (the mail still goes)."""
    if claim.remove_on_fail:
        removed = _remove_finished(claim)
        if removed is not None:
            task, queue = removed
            _mail_failure(
                job_id=claim.job_id,
                task=task,
                queue=queue,
                attempts=claim.attempts,
                error=error,
                traceback=f"{traceback}\n(removed from the ledger: remove_on_fail)",
            )
        return removed is not None
    failed = _end_attempt(
        claim=claim,
        status=JobStatus.FAILED,
        outcome=AttemptOutcome.FAILED,
        error=error,
        traceback=traceback,
    )
    if failed:
        notify_admins_of_failure(job_id=claim.job_id)
    return failed


def job_requeue_uncounted(
    *, job_id: str, worker: str, reason: str, attempt: int | None = None
) -> bool:
    """The attempt was stopped by something that is not the job's doing (the database went
    away under it; Celery cancelled it when its broker connection dropped): back to
    ``waiting``, the attempt not counted and no crash recorded; the stager publishes it
    again. ``attempt`` fences the update to that attempt when the caller knows it."""
    rows = Job.objects.filter(id=job_id, status=JobStatus.ACTIVE, worker=worker)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    return bool(
        reconnecting(
            lambda: rows.update(
                status=JobStatus.WAITING,
                attempts=F("attempts") - 1,
                worker="",
                needs_publish=True,
                error=f"{reason}; requeued, attempt not counted",
            )
        )
    )


def job_defer(*, job_id: str, until: datetime) -> bool:
    """Hold a waiting job back (rate limit) without spending an attempt."""
    return bool(
        Job.objects.filter(id=job_id, status=JobStatus.WAITING).update(
            status=JobStatus.DELAYED, scheduled_for=until
        )
    )


def job_worker_lost(*, job_id: str, worker: str, reason: str, poison_threshold: int) -> str | None:
    """The process running the job died. Requeue it, or quarantine a job that keeps killing
    its worker. Returns the new status, or None if the job had moved on already."""
    with transaction.atomic():
        job = (
            Job.objects.select_for_update()
            .filter(id=job_id, status=JobStatus.ACTIVE, worker=worker)
            .only("id", "crash_count", "attempts", "started_at")
            .first()
        )
        if job is None:
            return None
        crashes = job.crash_count + 1
        JobAttempt.objects.create(
            job_id=job_id,
            number=job.attempts,
            worker=worker,
            started_at=job.started_at,
            finished_at=timezone.now(),
            outcome=AttemptOutcome.LOST,
            error=f"worker process lost ({reason})",
        )
        if crashes >= poison_threshold:
            Job.objects.filter(id=job_id).update(
                status=JobStatus.FAILED,
                crash_count=crashes,
                finished_at=timezone.now(),
                error=f"poison job: its worker process died {crashes} times ({reason})",
            )
            status = JobStatus.FAILED
        else:
            Job.objects.filter(id=job_id).update(
                status=JobStatus.WAITING,
                crash_count=crashes,
                needs_publish=True,
                error=f"worker process lost ({reason}); requeued",
            )
            status = JobStatus.WAITING
    if status == JobStatus.FAILED:
        notify_admins_of_failure(job_id=job_id)
    return status


def job_report_progress(*, job_id: str, percent: int, message: str = "") -> bool:
    percent = max(0, min(100, int(percent)))
    return bool(
        Job.objects.filter(id=job_id, status=JobStatus.ACTIVE).update(
            progress=percent, progress_message=message[:500]
        )
    )


def notify_admins_of_failure(*, job_id: str) -> None:
    job = Job.objects.filter(id=job_id).first()
    if job is None:
        return
    _mail_failure(
        job_id=str(job.id),
        task=job.task,
        queue=job.queue,
        attempts=job.attempts,
        error=job.error,
        traceback=job.traceback,
    )


def _mail_failure(
    *, job_id: str, task: str, queue: str, attempts: int, error: str, traceback: str
) -> None:
    try:
        mail_admins(
            subject=f"Job failed: {task} [{job_id}]",
            message=(
                f"Job {job_id} ({task}) on queue {queue} failed after "
                f"{attempts} attempt(s).\n\nError: {error}\n\n{traceback}"
            ),
            fail_silently=False,
        )
    except Exception:
        log.exception("could not mail the admins about failed job %s", job_id)


def job_terminated(*, job_id: str, worker: str) -> bool:
    """A running job's process was terminated on request (``revoke(terminate=True)``): the
    job ends ``cancelled``, not requeued as if its worker had died."""
    return bool(
        reconnecting(
            lambda: Job.objects.filter(id=job_id, status=JobStatus.ACTIVE, worker=worker).update(
                status=JobStatus.CANCELLED,
                finished_at=timezone.now(),
                error="terminated by a revoke request",
            )
        )
    )
