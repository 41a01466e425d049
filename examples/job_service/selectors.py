"""The JobMonitor's reads: ``getJobStatus(id)`` and ``getJobs({status})``."""

from jobs import NotFoundError, job_get, job_list

from . import QUEUE


def job_status_get(*, job_id: str) -> str:
    """delayed, waiting, active, completed, failed or cancelled."""
    job = job_get(job_id=job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    return job.status


def jobs_list(*, status: str, limit: int = 50) -> list[dict]:
    """This service's jobs in one status, newest first, as the JobMonitor shows them."""
    return [
        {
            "id": str(job.id),
            "type": job.task,
            "data": job.kwargs or job.args,
            "status": job.status,
            "attempts": job.attempts,
            "error": job.error,
        }
        for job in job_list(status=status, queue=QUEUE, limit=limit)
    ]


def active_jobs_list(*, limit: int = 50) -> list[dict]:
    return jobs_list(status="active", limit=limit)


def failed_jobs_list(*, limit: int = 50) -> list[dict]:
    return jobs_list(status="failed", limit=limit)
