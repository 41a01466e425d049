"""The durable job platform: a ledger under Celery's own task API.

This module is the only surface the products (and any app built on the platform) import::

    from jobs import job_task, exponential, JobSpec, enqueue_many, job_cancel, Schedule, DAILY_3AM
    from jobs import assert_enqueued, run_enqueued_jobs  # in tests

Names load lazily: importing ``jobs`` from settings or ``config/celery.py`` must not touch
Django's app registry.
"""

from importlib import import_module
from typing import Any

# public name -> module that defines it ("module:attribute" where the names differ)
_EXPORTS: dict[str, str] = {
    # declaring and enqueueing jobs
    "job_task": "jobs.runtime.task_base",
    "LedgerResult": "jobs.runtime.result",
    "Priority": "jobs.ledger.priorities",
    "custom": "jobs.ledger.backoff",
    "exponential": "jobs.ledger.backoff",
    "fixed": "jobs.ledger.backoff",
    "JobSpec": "jobs.ledger.enqueue",
    "enqueue_many": "jobs.runtime.registry",
    "job_cancel": "jobs.ledger.operations",
    "job_retry": "jobs.ledger.operations",
    "job_remove": "jobs.ledger.operations",
    "jobs_republish": "jobs.ledger.operations",
    "job_run_now": "jobs.ledger.operations",
    "JobError": "jobs.ledger.operations",
    # queue controls
    "queue_pause": "jobs.ledger.queues",
    "queue_resume": "jobs.ledger.queues",
    "queue_set_rate_limit": "jobs.ledger.queues",
    # reading the ledger
    "job_get": "jobs.ledger.selectors",
    "job_list": "jobs.ledger.selectors",
    "queue_status_counts": "jobs.ledger.selectors",
    "job_clean": "jobs.ledger.retention",
    "live_job_keys": "jobs.ledger.selectors",
    "pending_job_args": "jobs.ledger.selectors",
    "unstarted_jobs_published_before": "jobs.ledger.selectors",
    # monitoring: metrics, health and alerts (what the admin API's /metrics and /health show)
    "queue_metrics": "jobs.observability.metrics",
    "queue_metrics_list": "jobs.observability.metrics",
    "activity_summary": "jobs.observability.metrics",
    "system_health": "jobs.observability.health",
    "alerts_evaluate": "jobs.observability.alerts",
    # schedules declared in code
    "Schedule": "jobs.scheduling.declarations",
    # named cron expressions for Schedule(cron=...)
    "EVERY_MINUTE": "jobs.scheduling.presets",
    "EVERY_5_MINUTES": "jobs.scheduling.presets",
    "EVERY_15_MINUTES": "jobs.scheduling.presets",
    "EVERY_30_MINUTES": "jobs.scheduling.presets",
    "HOURLY": "jobs.scheduling.presets",
    "EVERY_HOUR": "jobs.scheduling.presets",
    "EVERY_2_HOURS": "jobs.scheduling.presets",
    "EVERY_6_HOURS": "jobs.scheduling.presets",
    "DAILY_MIDNIGHT": "jobs.scheduling.presets",
    "DAILY_3AM": "jobs.scheduling.presets",
    "WEEKLY_MONDAY": "jobs.scheduling.presets",
    "WEEKLY": "jobs.scheduling.presets",
    "MONTHLY_FIRST": "jobs.scheduling.presets",
    "CRON_PRESETS": "jobs.scheduling.presets",
    # testing tasks: what was enqueued, and running it in-process through the ledger
    "assert_enqueued": "jobs.testing",
    "refute_enqueued": "jobs.testing",
    "enqueued_jobs": "jobs.testing",
    "run_enqueued_jobs": "jobs.testing",
    "RunSummary": "jobs.testing",
    # the error model and the API conventions every app follows
    "ApplicationError": "jobs.errors",
    "ConflictError": "jobs.errors",
    "NotFoundError": "jobs.errors",
    "InvalidInput": "jobs.errors",
    "PermanentError": "jobs.errors",
    "InvalidArguments": "jobs.errors",
    "Pagination": "jobs.web.pagination",
    "validated": "jobs.web.validation",
    "QuerySerializer": "jobs.web.query",
    "BodySerializer": "jobs.web.body",
    "StrictUUIDField": "jobs.web.fields",
    "admin_run_for_each": "jobs.web.admin_actions:run_for_each",
    "ConflictAwareAutoSchema": "jobs.web.api.schema",
    "NOT_FOUND": "jobs.web.api.schema",
    "TellsWhenStreamIsUnavailable": "jobs.web.stream.outage",
    "AuthenticatedJsonSocket": "jobs.web.stream.authenticated",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jobs' has no attribute {name!r}")
    module, _, attribute = module.partition(":")
    value = getattr(import_module(module), attribute or name)
    globals()[name] = value  # later lookups skip this function
    return value
