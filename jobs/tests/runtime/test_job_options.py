"""Per-job options on a real worker, real Redis and real PostgreSQL: the job's own backoff,
timeout, remove-on-finish and dedupe window, and the attempts history they leave."""

import time

import pytest

from jobs.models import Job, JobAttempt, JobStatus
from jobs.tasks import fail, noop, sleep
from tests.support.waiting import wait_for
from tests.testapp.tasks import boom

pytestmark = pytest.mark.integration


def _finished(job_id: str, timeout: float = 30) -> Job:
    return wait_for(
        lambda: Job.objects.filter(
            id=job_id, status__in=[JobStatus.COMPLETED, JobStatus.FAILED]
        ).first(),
        timeout=timeout,
    )


def test_retries_wait_the_jobs_own_backoff_not_the_tasks(worker):
    # jobs.fail declares exponential(0.5): 0.5 s, then 1 s. This job says 2 s each time.
    result = fail.apply_async((2,), max_attempts=3, backoff={"type": "fixed", "delay": 2000})

    assert result.get(timeout=40) == 3
    job = Job.objects.get(id=result.id)
    history = list(JobAttempt.objects.filter(job=job).order_by("id"))
    assert [(a.number, a.outcome) for a in history] == [(1, "retried"), (2, "retried")]
    # Each retry was scheduled 2 s after its attempt failed.
    second_start = history[1].started_at
    assert (second_start - history[0].finished_at).total_seconds() >= 1.9
    assert (job.started_at - history[1].finished_at).total_seconds() >= 1.9
    assert all("DiagnosticFailure" in a.error and a.traceback for a in history)


def test_a_job_running_past_its_own_timeout_fails_with_a_time_limit_error(worker):
    started = time.monotonic()
    result = sleep.apply_async((5,), timeout=1)

    job = _finished(result.id, timeout=20)

    assert job.status == JobStatus.FAILED
    assert "TimeLimitExceeded" in job.error
    assert job.hard_time_limit == 1
    assert time.monotonic() - started < 4.5  # killed at 1 s, not after the 5 s sleep
    assert JobAttempt.objects.filter(job=job, outcome="failed").count() == 1


def test_remove_on_complete_and_remove_on_fail_true_leave_no_row(worker):
    completed = noop.apply_async(remove_on_complete=True)
    failed = boom.apply_async(remove_on_fail=True)
    kept = noop.apply_async()

    _finished(kept.id)
    wait_for(lambda: not Job.objects.filter(id__in=[completed.id, failed.id]).exists())
    assert "the failure an operator must see" in worker.log()


def test_a_completed_payment_job_is_not_run_again_within_its_window(worker):
    first = noop.apply_async(("payment",), job_key="payment-hook-9", unique_for=3600)
    _finished(first.id)

    again = noop.apply_async(("payment",), job_key="payment-hook-9", unique_for=3600)

    assert again.id == first.id and again.created is False
    assert Job.objects.filter(job_key="payment-hook-9").count() == 1
