"""What ``.delay()`` returns for a ledger task: Celery's AsyncResult, read from the ledger."""

import time

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
    def status(self) -> str:  # the ledger's vocabulary, not Celery's
        return self.refresh().status

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
