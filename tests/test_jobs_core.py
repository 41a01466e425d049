"""The ledger's guarantees, each against a real worker, real Redis and real PostgreSQL."""

import time

import pytest
from django.db import transaction

from jobs.models import Job, JobStatus
from jobs.tasks import fail, noop, sleep

pytestmark = pytest.mark.integration


def wait_for(predicate, timeout=20.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def test_committed_job_runs_once_and_rolled_back_job_never_exists(worker):
    with transaction.atomic():
        committed = noop.delay("committed")
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = noop.delay("rolled back")
        raise RuntimeError("the caller's transaction fails")

    assert committed.get(timeout=20) is None
    job = Job.objects.get(id=committed.id)
    assert job.status == JobStatus.COMPLETED and job.attempts == 1
    assert not Job.objects.filter(id=rolled_back.id).exists()
    assert "rolled back" not in worker.log()


def test_retry_with_backoff_then_success(worker):
    result = fail.apply_async((2,), max_attempts=3)
    assert result.get(timeout=30) == 3
    job = Job.objects.get(id=result.id)
    assert job.attempts == 3 and job.status == JobStatus.COMPLETED
    # exponential(0.5): 0.5 s then 1 s between the attempts
    assert (job.finished_at - job.created_at).total_seconds() >= 1.5


def test_progress_is_visible_from_another_process(worker):
    result = sleep.delay(1)
    wait_for(lambda: Job.objects.get(id=result.id).status == JobStatus.ACTIVE)
    result.get(timeout=20)
    assert Job.objects.get(id=result.id).progress == 100
