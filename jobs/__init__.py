"""The durable job platform: a ledger under Celery's own task API.

Public API::

    from jobs import job_task, enqueue_many, job_cancel, job_retry, job_remove, Priority
"""

from jobs.backoff import custom, exponential, fixed
from jobs.priorities import Priority

__all__ = [
    "Priority",
    "custom",
    "enqueue_many",
    "exponential",
    "fixed",
    "job_cancel",
    "job_remove",
    "job_retry",
    "job_task",
]


def __getattr__(name: str):
    # The task API and services import Django models, so they load lazily: importing
    # `jobs` from settings or config/celery.py must not touch the app registry.
    if name == "job_task":
        from jobs.task import job_task

        return job_task
    if name in {"enqueue_many", "job_cancel", "job_retry", "job_remove"}:
        from jobs import services

        return getattr(services, name)
    raise AttributeError(name)
