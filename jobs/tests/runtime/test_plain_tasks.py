"""Plain Celery tasks (``@shared_task``, Celery's own options) made ledger tasks by
``JOBS_LEDGER_TASKS``: the test settings name ``tests.testapp.plain_tasks.*``. Declarations
first, then real runs against a worker."""

import time

import pytest
from celery import shared_task
from celery.result import AsyncResult
from django_celery_results.models import TaskResult

from config.celery import app
from jobs.ledger.backoff import Backoff
from jobs.models import Job, JobStatus
from jobs.runtime.default_task import is_ledger_task_name
from jobs.runtime.task_base import LedgerOptionWarning
from jobs.tasks import echo
from tests.support.waiting import wait_for
from tests.testapp import plain_tasks as t
from tests.testapp.models import SideEffect


def _body() -> None:
    """A task body for declarations (Celery needs a real function)."""


# --- declarations ------------------------------------------------------------------------------
def test_tasks_the_setting_names_are_ledger_tasks_and_others_stay_plain():
    assert (t.add.ledger, t.add.ignore_result) == (True, True)
    assert t.plain_echo.ledger is False  # @shared_task(ledger=False) opts out
    assert echo.ledger is False  # not named by the setting


def test_celerys_own_tasks_are_never_ledger_tasks_even_with_all():
    app.loader.import_default_modules()
    builtins = [name for name in app.tasks if name.startswith("celery.")]
    assert "celery.backend_cleanup" in builtins and "celery.chord_unlock" in builtins
    assert not any(app.tasks[name].ledger for name in builtins)
    assert not is_ledger_task_name("celery.backend_cleanup", ("__all__",))
    assert not is_ledger_task_name("django_celery_beat.anything", ("*",))
    assert is_ledger_task_name("reports.tasks.render", ("__all__",))
    assert is_ledger_task_name("reports.tasks.render", ("reports.*",))
    assert not is_ledger_task_name("billing.tasks.charge", ("reports.*",))


def test_celerys_retry_options_keep_celerys_meaning_as_ledger_attempts():
    # autoretry_for + max_retries=2 + default_retry_delay: three attempts, fixed delay.
    assert (t.flaky.max_attempts, t.flaky.backoff) == (3, Backoff("fixed", 0.1))
    # Nothing declared: Celery's defaults, max_retries=3 and default_retry_delay=180 s.
    assert (t.add.max_attempts, t.add.backoff) == (4, Backoff("fixed", 180.0))
    # Only autoretry_for errors retry automatically, as in Celery.
    assert t.flaky.retries_on(t.Flaky()) and not t.flaky.retries_on(KeyError())
    assert not t.add.retries_on(RuntimeError())


def test_retry_backoff_and_rate_limit_map_onto_the_ledger(settings):
    settings.JOBS_LEDGER_TASKS = ["test.plain.*"]
    task = shared_task(
        name="test.plain.backoff",
        autoretry_for=(OSError,),
        retry_backoff=2,
        retry_backoff_max=30,
        retry_jitter=False,
        max_retries=None,
        rate_limit="5/s",
    )(_body)
    assert task.ledger
    assert (task.max_attempts, task.backoff) == (25, Backoff("exponential", 2.0, 30.0))
    assert task.rate_limit is None  # the ledger's limit is global, not Celery's per worker


def test_ledger_true_makes_one_task_durable_that_the_setting_does_not_name(settings):
    settings.JOBS_LEDGER_TASKS = []
    assert shared_task(name="test.plain.opted_in", ledger=True)(_body).ledger
    assert not shared_task(name="test.plain.not_named")(_body).ledger


def test_an_option_the_ledger_cannot_honour_is_warned_about_at_declaration(settings):
    settings.JOBS_LEDGER_TASKS = ["test.plain.*"]
    with pytest.warns(LedgerOptionWarning, match="'test.plain.expiring'.*expires"):
        assert shared_task(name="test.plain.expiring", expires=60)(_body).ledger


# --- real runs --------------------------------------------------------------------------------
def _finished(job_id: str) -> Job:
    return wait_for(
        lambda: Job.objects.filter(
            id=job_id, status__in=[JobStatus.COMPLETED, JobStatus.FAILED]
        ).first(),
        timeout=30,
    )


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_delay_of_a_plain_task_records_a_job_that_runs_once_with_its_result(worker):
    result = t.record_plain.delay("plain-once")
    job = Job.objects.get(id=result.id)  # written by .delay(), before any worker saw it
    assert (job.task, job.args) == ("tests.testapp.plain_tasks.record_plain", ["plain-once"])
    assert AsyncResult(result.id).get(timeout=30) == "plain-once"
    assert t.add.delay(2, 3).get(timeout=30) == 5
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (JobStatus.COMPLETED, 1, "plain-once")
    assert SideEffect.objects.filter(key="plain-once").count() == 1
    assert not TaskResult.objects.filter(task_id=result.id).exists()  # one store: the row


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_autoretry_for_and_max_retries_become_ledger_attempts(worker):
    recovers = t.flaky.delay("flaky-recovers", 1)
    never = t.flaky.delay("flaky-never", 5)
    other_error = t.broken.delay()
    assert recovers.get(timeout=30) == 1  # self.request.retries on the second run
    job = _finished(recovers.id)
    assert (job.status, job.attempts) == (JobStatus.COMPLETED, 2)
    job = _finished(never.id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)  # max_retries=2
    assert "Flaky" in job.error
    job = _finished(other_error.id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)  # not in autoretry_for
    assert SideEffect.objects.filter(key__startswith="flaky-").count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_workers_plain_task_is_rescued_and_finished_once(start_worker):
    doomed = start_worker("doomed", queues=["default"])
    result = t.record_plain.delay("plain-survivor", 3)
    wait_for(lambda: Job.objects.filter(id=result.id, status=JobStatus.ACTIVE).exists())
    doomed.kill()
    start_worker("rescuer", queues=["default"])
    wait_for(lambda: SideEffect.objects.filter(key="plain-survivor").exists(), timeout=60)
    job = Job.objects.get(id=result.id)
    assert (job.status, job.crash_count) == (JobStatus.COMPLETED, 1)
    time.sleep(0.5)
    assert SideEffect.objects.filter(key="plain-survivor").count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_plain_task_outside_the_setting_stays_plain_celery(worker):
    opted_out = t.plain_echo.delay("opted out")
    assert opted_out.get(timeout=30) == "opted out"
    unnamed = echo.delay("not named")
    assert unnamed.get(timeout=30) == "not named"
    assert not Job.objects.filter(id__in=[opted_out.id, unnamed.id]).exists()
    stored = wait_for(
        lambda: TaskResult.objects.filter(task_id__in=[opted_out.id, unnamed.id]).count() == 2
    )
    assert stored


def test_job_task_warns_about_an_option_the_ledger_cannot_honour():
    from jobs import job_task

    with pytest.warns(LedgerOptionWarning, match="'test.job_task.expiring'.*@job_task.*expires"):
        job_task(name="test.job_task.expiring", expires=60)(_body)
