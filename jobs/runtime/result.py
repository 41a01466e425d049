"""What ``.delay()`` returns for a ledger task: Celery's AsyncResult, read from the ledger."""

import time
from typing import Any

from celery import states
from celery.exceptions import TaskRevokedError
from celery.result import AsyncResult

from jobs.ledger.models import FINISHED_STATUSES, Job, JobStatus


class JobFailed(Exception):
    """Raised by ``LedgerResult.get`` for a job that failed or was cancelled."""


class LedgerResult(AsyncResult):
    """An AsyncResult whose state and value come from the ledger."""

    def __init__(self, id, job=None, created=True, **kwargs):
        super().__init__(id, **kwargs)
        self.job = job
        self.created = created

    def refresh(self):
        self.job = Job.objects.get(id=self.id)
        return self.job

    @property
    def status(self) -> str:
        """Celery's state of the job (``SUCCESS``, ...); ``result.job.status`` is the
        ledger's own (``completed``, ...)."""
        return str(ledger_meta(self.refresh())["status"])

    state = status

    def get(self, timeout: float | None = None, interval: float = 0.05, **kwargs):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.refresh()
            if job.status in FINISHED_STATUSES:
                if job.status == JobStatus.COMPLETED:
                    return job.result
                raise JobFailed(f"job {job.id} {job.status}: {job.error}")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job.id} still {job.status} after {timeout}s")
            time.sleep(interval)


def _exception(cls: type[BaseException], message: str) -> dict[str, Any]:
    return {"exc_type": cls.__name__, "exc_module": cls.__module__, "exc_message": [message]}


def ledger_meta(job: Job) -> dict[str, Any]:
    """The job as Celery's task meta (status, result, traceback, date_done)."""
    result: Any = None
    traceback = None
    status = states.PENDING
    if job.status == JobStatus.COMPLETED:
        status, result = states.SUCCESS, job.result
    elif job.status == JobStatus.FAILED:
        status, traceback = states.FAILURE, job.traceback or None
        result = _exception(JobFailed, f"job {job.id} failed: {job.error}")
    elif job.status == JobStatus.CANCELLED:
        reason = f": {job.error}" if job.error else ""
        status, result = (
            states.REVOKED,
            _exception(TaskRevokedError, f"job {job.id} cancelled{reason}"),
        )
    elif job.status == JobStatus.ACTIVE:
        if job.progress:
            status = "PROGRESS"
            result = {"progress": job.progress, "message": job.progress_message}
        else:
            status = states.STARTED
    elif job.status == JobStatus.DELAYED and job.attempts and job.error:
        status, result = states.RETRY, _exception(JobFailed, job.error)
    return {
        "task_id": str(job.id),
        "status": status,
        "result": result,
        "traceback": traceback,
        "children": [],
        "date_done": job.finished_at,
        "name": job.task,
        "args": job.args,
        "kwargs": job.kwargs,
        "queue": job.queue,
        "retries": max(0, job.attempts - 1),
    }
