"""The JobMonitor's write: ``retryFailedJobs()``."""

from jobs import JobError, job_retry

from .selectors import failed_jobs_list


def failed_jobs_retry(*, limit: int = 1000) -> int:
    """Retry every failed job of the service with fresh attempts; how many were retried.
    A job someone else retried meanwhile is no longer failed and is passed over."""
    retried = 0
    for job in failed_jobs_list(limit=limit):
        try:
            job_retry(job_id=job["id"])
        except JobError:
            continue
        retried += 1
    return retried
