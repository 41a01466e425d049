"""The durable job platform: a ledger under Celery's own task API.

This module is the only surface the products (and any app built on the platform) import::

    from jobs import job_task, exponential, JobSpec, enqueue_many, job_cancel, Schedule

Names load lazily: importing ``jobs`` from settings or ``config/celery.py`` must not touch
Django's app registry.
"""

from importlib import import_module
from typing import Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # declaring and enqueueing jobs
    "job_task": "jobs.task",
    "Priority": "jobs.priorities",
    "custom": "jobs.backoff",
    "exponential": "jobs.backoff",
    "fixed": "jobs.backoff",
    "JobSpec": "jobs.services",
    "enqueue_many": "jobs.services",
    "job_cancel": "jobs.services",
    "job_retry": "jobs.services",
    "job_remove": "jobs.services",
    "jobs_republish": "jobs.services",
    # reading the ledger
    "live_job_keys": "jobs.selectors",
    "pending_job_args": "jobs.selectors",
    "unstarted_jobs_published_before": "jobs.selectors",
    # schedules declared in code
    "Schedule": "jobs.schedules",
    # the error model and the API conventions every app follows
    "ApplicationError": "jobs.errors",
    "ConflictError": "jobs.errors",
    "NotFoundError": "jobs.errors",
    "Pagination": "jobs.web.pagination",
    "validated": "jobs.web.validation",
    "ConflictAwareAutoSchema": "jobs.api.schema",
    "NOT_FOUND": "jobs.api.schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jobs' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value
