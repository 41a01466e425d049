"""``jobs.testing``: what was enqueued, and jobs run in-process through the ledger's real
transitions (claim, body, completion / retry / failure), with no broker and no worker."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from jobs import (
    assert_enqueued,
    enqueued_jobs,
    queue_pause,
    refute_enqueued,
    run_enqueued_jobs,
)
from jobs.ledger.models import Job, JobAttempt, JobStatus
from jobs.tasks import fail, noop, sleep
from tests.testapp.models import SideEffect
from tests.testapp.tasks import (
    any_error_retries,
    enqueue_batch,
    record,
    record_then_enqueue,
    record_then_fail,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


# --- assert_enqueued / refute_enqueued ------------------------------------------------------
def test_assert_enqueued_matches_only_the_fields_given_and_returns_the_jobs():
    first = noop.delay(1, "two", flag=True)
    sleep.apply_async((0.5,), queue="default", job_key="nap")

    (job,) = assert_enqueued(task=noop, args=(1, "two"), kwargs={"flag": True})
    assert str(job.id) == first.id
    assert assert_enqueued(task="jobs.noop") == [job]
    assert len(assert_enqueued(queue="default")) == 2
    assert [j.task for j in assert_enqueued(job_key="nap")] == ["jobs.sleep"]
    assert enqueued_jobs(task=sleep, args=[0.5])[0].job_key == "nap"


def test_assert_enqueued_failure_lists_what_was_enqueued():
    sleep.apply_async((0.5,), job_key="nap")
    noop.delay("other")

    with pytest.raises(AssertionError) as failed:
        assert_enqueued(task=noop, args=["expected"])

    message = str(failed.value)
    assert "expected a job with task='jobs.noop', args=['expected'] (status delayed/waiting)" in (
        message
    )
    assert "it holds 2 job(s):" in message
    assert "jobs.sleep args=[0.5] kwargs={} queue='default' status=waiting job_key='nap'" in message
    assert "jobs.noop args=['other']" in message


def test_assert_enqueued_on_an_empty_ledger_says_so():
    with pytest.raises(AssertionError, match=r"it holds 0 job\(s\):\n  \(none\)"):
        assert_enqueued(task=noop)


def test_refute_enqueued_passes_when_nothing_matches_and_fails_listing_the_matches():
    noop.delay(1)

    refute_enqueued(task=noop, args=[2])
    refute_enqueued(task=sleep)
    with pytest.raises(AssertionError) as failed:
        refute_enqueued(task=noop)

    assert "expected no job with task='jobs.noop'" in str(failed.value)
    assert "found 1:\n  - jobs.noop args=[1]" in str(failed.value)


def test_a_job_that_ran_is_no_longer_enqueued_unless_its_status_is_asked_for():
    noop.delay()
    run_enqueued_jobs()

    refute_enqueued(task=noop)
    assert_enqueued(task=noop, status="completed")
    assert_enqueued(task=noop, status="any")
    assert_enqueued(task=noop, status=["failed", "completed"])


def test_a_rolled_back_enqueue_is_not_enqueued():
    with pytest.raises(RuntimeError), transaction.atomic():
        noop.delay("rolled back")
        raise RuntimeError("the caller's transaction fails")

    refute_enqueued(task=noop, status="any")


# --- run_enqueued_jobs ---------------------------------------------------------------------
def test_run_enqueued_jobs_completes_a_job_through_the_ledger():
    result = record.delay("done")

    summary = run_enqueued_jobs()

    assert (summary.ran, summary.completed, summary.counts) == (1, 1, {"completed": 1})
    job = Job.objects.get(id=result.id)
    assert job.status == JobStatus.COMPLETED and job.attempts == 1 and job.result == "done"
    assert job.worker and job.started_at and job.finished_at
    # The task body saw the worker's request: its own job id.
    assert SideEffect.objects.get(key="done").job_id == result.id
    assert summary.jobs() == [job]


def test_a_failed_attempt_is_retried_with_its_backoff_written_in_the_row():
    with time_machine.travel(T0, tick=False):
        result = fail.apply_async((1,), max_attempts=3)  # fails its first attempt

        summary = run_enqueued_jobs()

        assert summary.counts == {"retried": 1}  # the retry is not due on a frozen clock
        job = Job.objects.get(id=result.id)
        assert job.status == JobStatus.DELAYED and job.attempts == 1
        assert job.scheduled_for == T0 + timedelta(seconds=0.5)  # exponential(0.5)
        assert "DiagnosticFailure: failing attempt 1" in job.error
        (attempt,) = JobAttempt.objects.filter(job_id=job.id)
        assert (attempt.number, attempt.outcome) == (1, "retried")

        assert run_enqueued_jobs(now=T0 + timedelta(seconds=0.4)).ran == 0
        summary = run_enqueued_jobs(now=T0 + timedelta(seconds=0.5))

    assert summary.counts == {"completed": 1}
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.attempts == 2 and job.result == 2


def test_include_delayed_runs_retries_until_the_attempts_are_used_up(mailoutbox):
    result = any_error_retries.delay()  # max_attempts=3, always raises

    summary = run_enqueued_jobs(include_delayed=True)

    assert summary.counts == {"retried": 2, "failed": 1}
    job = Job.objects.get(id=result.id)
    assert job.status == JobStatus.FAILED and job.attempts == 3
    assert job.error.startswith("RuntimeError: no autoretry_for declared")
    assert "Traceback" in job.traceback
    outcomes = list(JobAttempt.objects.filter(job_id=job.id).values_list("number", "outcome"))
    assert outcomes == [(1, "retried"), (2, "retried"), (3, "failed")]
    (mail,) = mailoutbox  # one mail to the admins, for the failure only
    assert mail.subject.endswith(f"Job failed: testapp.any_error_retries [{job.id}]")


def test_a_job_s_own_options_hold_in_process_as_on_a_worker():
    with time_machine.travel(T0, tick=False):
        retried = fail.apply_async((1,), max_attempts=2, backoff={"type": "fixed", "delay": 2000})
        removed = noop.apply_async(remove_on_complete=True)

        summary = run_enqueued_jobs()

    assert summary.counts == {"retried": 1, "completed": 1}
    # The job's own backoff (2 s), not the task's exponential(0.5).
    assert Job.objects.get(id=retried.id).scheduled_for == T0 + timedelta(seconds=2)
    assert not Job.objects.filter(id=removed.id).exists()
    assert [str(job.id) for job in summary.jobs()] == [retried.id]


def test_delayed_jobs_run_only_when_due_or_asked_for():
    with time_machine.travel(T0, tick=False):
        result = noop.apply_async(countdown=60)

        assert run_enqueued_jobs().ran == 0
        assert run_enqueued_jobs(now=T0 + timedelta(seconds=59)).ran == 0
        assert run_enqueued_jobs(include_delayed=True).completed == 1

    assert Job.objects.get(id=result.id).status == JobStatus.COMPLETED


def test_jobs_enqueued_by_jobs_run_too():
    record_then_enqueue.delay("first", "second")
    enqueue_batch.delay(3)  # enqueues three jobs.noop with enqueue_many

    summary = run_enqueued_jobs()

    assert summary.counts == {"completed": 2 + 1 + 3}
    assert set(SideEffect.objects.values_list("key", flat=True)) == {"first", "second"}
    refute_enqueued()


def test_an_atomic_task_s_effect_rolls_back_with_each_failed_attempt():
    failing = record_then_fail.delay("undone")
    kept = record.delay("kept")  # atomic too: the effect commits with the completion

    summary = run_enqueued_jobs(include_delayed=True)

    assert summary.counts == {"completed": 1, "retried": 1, "failed": 1}
    assert not SideEffect.objects.filter(key="undone").exists()
    assert SideEffect.objects.get(key="kept").job_id == kept.id
    assert Job.objects.get(id=failing.id).status == JobStatus.FAILED


def test_queue_task_and_limit_narrow_what_runs():
    noop.delay()
    sleep.delay(0)
    record.apply_async(("maintenance",), queue="jobs.maintenance")

    assert run_enqueued_jobs(queue="jobs.maintenance").completed == 1
    assert run_enqueued_jobs(task=sleep).completed == 1
    assert run_enqueued_jobs(limit=0).ran == 0
    assert_enqueued(task=noop)
    assert run_enqueued_jobs(limit=1).ran == 1
    refute_enqueued()


def test_a_paused_queue_s_jobs_are_not_run():
    result = noop.delay()
    queue_pause(queue="default")

    assert run_enqueued_jobs().ran == 0
    assert Job.objects.get(id=result.id).status == JobStatus.WAITING


def test_jobs_run_in_priority_order():
    low = noop.apply_async(priority="LOW")
    critical = noop.apply_async(priority="CRITICAL")

    summary = run_enqueued_jobs()

    assert [job_id for job_id, _ in summary.outcomes] == [critical.id, low.id]


def test_a_job_of_an_unknown_task_is_reported():
    from jobs import JobSpec
    from jobs.ledger.enqueue import job_enqueue

    job_enqueue(JobSpec(task="billing.not_deployed_yet"))

    with pytest.raises(LookupError, match="no ledger task named 'billing.not_deployed_yet'"):
        run_enqueued_jobs()


@pytest.mark.django_db(transaction=True)
def test_with_transactional_db_and_no_broker_jobs_still_run_in_process():
    from tests.support.private_redis import broker_at

    with broker_at("redis://127.0.0.1:1/0"):  # nothing listens there
        with transaction.atomic():
            result = record.delay("no broker")
        job = Job.objects.get(id=result.id)
        assert job.needs_publish  # the publish after commit failed: harmless

        assert run_enqueued_jobs().completed == 1

    assert SideEffect.objects.get(key="no broker").job_id == result.id
    assert Job.objects.get(id=result.id).status == JobStatus.COMPLETED
