"""Celery's retry vocabulary means what Celery says on a ledger task, and a task's attempts
retry any exception unless it says otherwise: declared options, then real runs."""

import pytest
from celery import shared_task
from django.utils import timezone

from jobs import custom, exponential, job_task, run_enqueued_jobs
from jobs.ledger.backoff import Backoff
from jobs.models import Job, JobStatus
from tests.support.waiting import wait_for
from tests.testapp import tasks as t


def _body() -> None:
    """A task body for declarations (Celery needs a real function)."""


@pytest.mark.parametrize(
    "options, attempts, backoff",
    [
        ({}, 1, Backoff("exponential", 1.0, 3600.0)),
        ({"max_retries": 3}, 4, Backoff("exponential", 1.0, 3600.0)),
        ({"max_retries": None}, 25, Backoff("exponential", 1.0, 3600.0)),
        ({"max_retries": 3, "max_attempts": 2}, 2, Backoff("exponential", 1.0, 3600.0)),
        ({"retry_backoff": True}, 1, Backoff("exponential", 1.0, 600.0, jitter=True)),
        (
            {"retry_backoff": 5, "retry_backoff_max": 60, "retry_jitter": False},
            1,
            Backoff("exponential", 5.0, 60.0),
        ),
        ({"default_retry_delay": 30}, 1, Backoff("fixed", 30.0)),
    ],
)
def test_celery_options_become_ledger_attempts_and_backoff(options, attempts, backoff):
    task = job_task(name=f"test.options.{abs(hash(str(options)))}", **options)(_body)
    assert (task.max_attempts, task.backoff) == (attempts, backoff)


def test_project_wide_defaults_apply_to_tasks_that_declare_nothing(settings):
    settings.JOBS_DEFAULT_MAX_ATTEMPTS = 4
    settings.JOBS_DEFAULT_RETRY_DELAY = 2.5
    task = job_task(name="test.options.defaults")(_body)
    assert (task.max_attempts, task.backoff) == (4, Backoff("fixed", 2.5))


def test_plain_shared_task_keeps_celerys_own_retry_options():
    task = shared_task(name="test.options.plain", max_retries=7)(_body)
    assert task.max_retries == 7


def _erp_down() -> None:
    raise ConnectionError("ERP unreachable")


@pytest.mark.django_db
def test_a_custom_backoff_waits_1_then_2_minutes_through_the_ledger():
    # BullMQ's custom backoff: delay = attemptsMade * 60000 (1 min, 2 min, 3 min).
    task = job_task(
        name="test.backoff.custom", max_attempts=3, backoff=custom(lambda attempt: attempt * 60)
    )(_erp_down)
    job_id = task.apply_async().id

    waits = []
    for _ in range(2):
        run_enqueued_jobs(task=task, include_delayed=True, limit=1)
        job = Job.objects.get(id=job_id)
        waits.append(round((job.scheduled_for - timezone.now()).total_seconds()))
    run_enqueued_jobs(task=task, include_delayed=True, limit=1)

    assert waits == [60, 120]
    job = Job.objects.get(id=job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)


def test_exponential_backoff_is_capped_and_jitter_stays_within_the_window():
    assert [exponential(1, max_delay=5).seconds(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    spread = [exponential(2, jitter=True).seconds(3) for _ in range(200)]
    assert all(0 <= delay <= 8 for delay in spread) and len(set(spread)) > 1


def _finished(job_id: str) -> Job:
    return wait_for(
        lambda: Job.objects.filter(
            id=job_id, status__in=[JobStatus.COMPLETED, JobStatus.FAILED]
        ).first(),
        timeout=30,
    )


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "task, attempts, error",
    [
        (t.celery_style_retries, 3, "ValueError: always"),  # max_retries=2
        (t.any_error_retries, 3, "RuntimeError"),
        (t.permanent, 1, "PermanentError"),
        (t.dont_retry, 1, "KeyError"),
        (t.retry_call, 2, "RuntimeError: again"),  # self.retry(max_retries=1)
    ],
    ids=["max_retries", "any_error", "permanent", "dont_autoretry_for", "retry_max_retries"],
)
def test_attempts_on_a_real_worker(start_worker, task, attempts, error):
    start_worker(queues=["default"])
    job = _finished(task.delay().id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, attempts)
    assert error in job.error
