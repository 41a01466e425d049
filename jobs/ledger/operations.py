"""Operator transitions of a job row: cancel, retry, run now, remove, republish.

Each is a conditional statement on the row's current status, so it races safely with the
workers: a job that started in the meantime is simply not matched.
"""

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.errors import ConflictError, InvalidInput
from jobs.ledger import workflows
from jobs.ledger.enqueue import live_job_with_key, publish_after_commit
from jobs.ledger.models import LIVE_STATUSES, Job, JobStatus
from jobs.ledger.transition_log import log_transition


class JobError(ConflictError):
    """A job operation that cannot be done in the job's current state."""


def _job_filter(job_id: str | None, job_key: str | None):
    if bool(job_id) == bool(job_key):
        raise InvalidInput("give exactly one of job_id or job_key", field="job_id")
    if job_id:
        return Job.objects.filter(id=job_id)
    return Job.objects.filter(job_key=job_key, status__in=LIVE_STATUSES)


def job_cancel(*, job_id: str | None = None, job_key: str | None = None) -> bool:
    """Cancel a job that has not started. Durable: its message, if any, is ignored. A job
    that is a step of a workflow cancels its workflow: the steps after it would otherwise
    wait for it for ever."""
    unstarted = [JobStatus.DELAYED, JobStatus.WAITING]
    # An operator's action, not the hot path: the row is read first for the transition log.
    found = (
        _job_filter(job_id, job_key)
        .filter(status__in=unstarted)
        .values_list("id", "task", "queue", "attempts", "workflow_id")
    )
    cancelled = False
    with transaction.atomic():
        for pk, task, queue, attempt, workflow_id in found[:1]:
            cancelled = bool(
                Job.objects.filter(id=pk, status__in=unstarted).update(
                    status=JobStatus.CANCELLED, finished_at=timezone.now(), needs_publish=False
                )
            )
            if cancelled:
                log_transition("cancelled", job_id=str(pk), task=task, queue=queue, attempt=attempt)
                if workflow_id is not None:
                    workflows.workflow_cancel(workflow_id=str(workflow_id))
    return cancelled


def job_retry(*, job_id: str, reset_attempts: bool = True) -> Job:
    """Run a failed or cancelled job again (a fresh set of attempts by default).

    A step of a workflow resumes its workflow: the steps its failure cancelled are created
    again when it completes (``workflows.step_resume``, in this transaction). A step of a
    cancelled workflow, and a step that never ran because the one before it failed, are
    refused, saying why."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(id=job_id).first()
        if job is None:
            raise Job.DoesNotExist(job_id)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.COMPLETED):
            raise JobError(f"job {job_id} is {job.status}; only finished jobs can be retried")
        if job.job_key and live_job_with_key(job.job_key) is not None:
            raise JobError(f"another live job holds key {job.job_key!r}")
        if job.workflow_id is not None:
            _refuse_step_retry(job)
        now = timezone.now()
        job.status = JobStatus.WAITING
        job.attempts = 0 if reset_attempts else job.attempts
        job.crash_count = 0
        job.error = job.traceback = ""
        job.result = None
        job.scheduled_for = job.published_at = now
        job.started_at = job.finished_at = None
        job.save()
        if job.workflow_id is not None:
            workflows.step_resume(job_id=str(job.id), continuation=job.continuation)
    publish_after_commit([job])
    return job


def _refuse_step_retry(job: Job) -> None:
    # Holds the workflow's row (FOR SHARE) to the commit: a cancel that comes meanwhile
    # waits, then cancels the job this retry made waiting.
    if workflows.workflow_cancelled(str(job.workflow_id)):
        raise JobError(
            f"job {job.id} is a step of workflow {job.workflow_id}, which was cancelled: "
            "a cancelled workflow is not resumed; enqueue the work again"
        )
    if job.status == JobStatus.CANCELLED and job.started_at is None and job.parent_id:
        raise JobError(
            f"job {job.id} never ran ({job.error}): retry job {job.parent_id}, and the "
            "workflow resumes from there"
        )


def job_run_now(*, job_id: str) -> bool:
    """Make a delayed job due at once; the dispatcher publishes it on its next tick."""
    return bool(
        Job.objects.filter(id=job_id, status=JobStatus.DELAYED).update(scheduled_for=timezone.now())
    )


def job_remove(*, job_id: str) -> bool:
    """Delete a job that is not running (an active job must finish or be reaped first)."""
    job = Job.objects.filter(id=job_id).only("status").first()
    if job is None:
        return False
    if job.status == JobStatus.ACTIVE:
        raise JobError(f"job {job_id} is active; cancel or wait for it before removing")
    return bool(Job.objects.filter(id=job_id).exclude(status=JobStatus.ACTIVE).delete()[0])


def jobs_republish(*, job_ids: list[str]) -> int:
    """Ask the dispatcher to publish these waiting jobs again (their message was lost).
    A duplicate message is harmless: the start guard runs the job once."""
    return Job.objects.filter(
        id__in=list(job_ids), status=JobStatus.WAITING, needs_publish=False
    ).update(needs_publish=True)


def jobs_revoke(*, job_ids: list[str]) -> int:
    """Celery's revoke, made durable: the jobs among ``job_ids`` that have not started are
    cancelled in the ledger, so they never run on any worker, after any restart. Ids that
    are not ledger jobs are left to Celery. Returns how many were cancelled."""
    ids = []
    for job_id in job_ids:
        try:
            ids.append(uuid.UUID(str(job_id)))
        except ValueError:
            continue
    if not ids:
        return 0
    with transaction.atomic():
        # A workflow's id, or any of its steps' (the result of a chain is its last step's,
        # which has no job until the steps before it have run): the whole workflow.
        in_workflows = workflows.workflows_cancel_of_jobs(ids, reason="workflow revoked")
        return in_workflows + Job.objects.filter(
            id__in=ids, status__in=[JobStatus.DELAYED, JobStatus.WAITING]
        ).update(status=JobStatus.CANCELLED, finished_at=timezone.now(), needs_publish=False)


def job_record_unknown(
    *, job_id: str, task: str, queue: str, args: list, kwargs: dict, reason: str
) -> bool:
    """A message for a task no worker knows was discarded by Celery: keep it in the ledger
    as a failed job saying why, so it is visible and can be retried once code that knows
    the task is deployed. False if the id is a ledger job already."""
    now = timezone.now()
    try:
        with transaction.atomic():
            Job.objects.create(
                id=uuid.UUID(str(job_id)),
                task=task[:200],
                args=args,
                kwargs=kwargs,
                queue=queue[:100],
                status=JobStatus.FAILED,
                error=reason,
                created_at=now,
                scheduled_for=now,
                finished_at=now,
            )
    except (IntegrityError, ValueError):
        return False
    return True
