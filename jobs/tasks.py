"""Built-in diagnostic tasks for operators, tests and benchmarks."""

import time

from celery import shared_task

from jobs.ledger.backoff import exponential
from jobs.runtime.task_base import job_task


class DiagnosticFailure(Exception):
    """The retryable error raised by ``jobs.fail``."""


@job_task(name="jobs.noop", queue="default")
def noop(*args, **kwargs) -> None:
    """Does nothing: measures the platform's own overhead."""


@job_task(name="jobs.sleep", queue="default")
def sleep(seconds: float = 1.0) -> float:
    time.sleep(float(seconds))
    return float(seconds)


@job_task(
    name="jobs.fail",
    bind=True,
    queue="default",
    max_attempts=5,
    autoretry_for=(DiagnosticFailure,),
    backoff=exponential(0.5),
)
def fail(self, times: int = 1) -> int:
    """Fails its first ``times`` attempts with a retryable error, then succeeds."""
    attempt = self.request.ledger_claim.attempts
    if attempt <= int(times):
        raise DiagnosticFailure(f"failing attempt {attempt} of the first {times}")
    return attempt


@shared_task(name="jobs.echo")
def echo(value):
    """A plain Celery task (no ledger): its result goes to django-celery-results."""
    return value


@job_task(name="jobs.maintenance_sweep", queue="jobs.maintenance", priority="HIGH")
def maintenance_sweep() -> dict:
    from jobs.runtime.loops import MaintenanceCycle

    MaintenanceCycle().tick()
    return {"ok": True}


@job_task(name="jobs.apply_retention", queue="jobs.maintenance", priority="LOW", max_attempts=2)
def apply_retention() -> dict:
    """Roll the metrics history up first, then remove only what it has taken in: the
    history of throughput and latency outlives the jobs."""
    from jobs.ledger.retention import apply_retention as run
    from jobs.observability.rollups import retention_bound, rollup_run

    rollup_run()
    return run(finished_before=retention_bound())


@job_task(name="jobs.evaluate_alerts", queue="jobs.maintenance", priority="HIGH", max_attempts=2)
def evaluate_alerts() -> dict:
    """The alert rules: new alerts mail the admins once (jobs.observability.alerts)."""
    from jobs.observability.alerts import alerts_evaluate

    return alerts_evaluate()
