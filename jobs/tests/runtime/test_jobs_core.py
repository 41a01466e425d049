"""The ledger's guarantees, each against a real worker, real Redis and real PostgreSQL."""

import time

import pytest
from django.db import transaction

from jobs.models import Job, JobStatus
from jobs.tasks import fail, noop, sleep
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


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
    from tests.testapp.tasks import progress_then_sleep

    result = progress_then_sleep.delay(1.5)
    job = wait_for(lambda: Job.objects.filter(id=result.id, progress=50).first())
    assert job.status == JobStatus.ACTIVE and job.progress_message == "half way"
    # Also in Celery's task state meta, where Flower and AsyncResult look.
    from django_celery_results.models import TaskResult

    # Written just after the ledger row's progress: wait for it rather than race it.
    state = wait_for(lambda: TaskResult.objects.filter(task_id=result.id).first())
    assert state.status == "PROGRESS" and '"progress": 50' in state.result
    result.get(timeout=20)


def test_redis_down_at_commit_job_waits_in_ledger_and_runs_when_redis_returns(
    start_worker, tmp_path, request
):
    from tests.support.private_redis import PrivateRedis, broker_at
    from tests.support.processes import worker_env
    from tests.testapp.models import SideEffect
    from tests.testapp.tasks import record

    redis_server = PrivateRedis(tmp_path / "redis").start()
    request.addfinalizer(redis_server.stop)
    start_worker(env=worker_env(REDIS_URL=redis_server.url))
    with broker_at(redis_server.url):
        redis_server.stop()
        with transaction.atomic():
            result = record.delay("while-redis-down")  # no exception for the caller
        job = Job.objects.get(id=result.id)
        assert job.status == JobStatus.WAITING and job.needs_publish

        redis_server.start()  # back, and empty
        wait_for(lambda: SideEffect.objects.filter(key="while-redis-down").exists(), timeout=40)
    assert Job.objects.get(id=result.id).status == JobStatus.COMPLETED
    assert SideEffect.objects.filter(key="while-redis-down").count() == 1


def test_delayed_job_survives_a_worker_restart(start_worker):
    from tests.testapp.models import SideEffect
    from tests.testapp.tasks import record

    first = start_worker("before")
    result = record.apply_async(("delayed",), countdown=4)
    assert Job.objects.get(id=result.id).status == JobStatus.DELAYED
    first.stop()
    time.sleep(4.5)  # due while no worker runs
    start_worker("after")
    wait_for(lambda: SideEffect.objects.filter(key="delayed").exists())
    assert SideEffect.objects.filter(key="delayed").count() == 1


def test_job_key_deduplicates_live_jobs_and_cancels_by_key(worker):
    from jobs import job_cancel

    first = noop.apply_async(countdown=60, job_key="cancel-order-1")
    second = noop.apply_async(countdown=60, job_key="cancel-order-1")
    assert first.id == second.id and first.created and not second.created
    assert job_cancel(job_key="cancel-order-1")
    # Once the first is no longer live, the key is free again.
    third = noop.apply_async(countdown=60, job_key="cancel-order-1")
    assert third.id != first.id
    assert Job.objects.filter(job_key="cancel-order-1").count() == 2


def test_cancelled_job_never_starts_even_with_its_message_in_redis(start_worker):
    from jobs import job_cancel
    from jobs.ledger import broker
    from tests.testapp.models import SideEffect
    from tests.testapp.tasks import record

    result = record.delay("cancelled")  # published: the message sits in Redis, no worker yet
    assert broker.queue_depths(["default"])["default"] == 1
    assert job_cancel(job_id=result.id)
    start_worker()
    wait_for(lambda: broker.queue_depths(["default"])["default"] == 0)
    noop.delay().get(timeout=20)  # the worker has certainly consumed the message by now
    assert not SideEffect.objects.filter(key="cancelled").exists()
    assert Job.objects.get(id=result.id).status == JobStatus.CANCELLED


def test_redelivered_message_after_completion_does_nothing(worker):
    from jobs.ledger import broker
    from tests.testapp.models import SideEffect
    from tests.testapp.tasks import record

    result = record.delay("once")
    result.get(timeout=20)
    broker.publish([Job.objects.get(id=result.id)])  # the same message, delivered again
    broker.publish([Job.objects.get(id=result.id)])
    noop.delay().get(timeout=20)
    wait_for(lambda: broker.queue_depths(["default"])["default"] == 0)
    time.sleep(0.5)
    assert SideEffect.objects.filter(key="once").count() == 1


def test_retries_exhausted_fail_the_job_and_mail_the_admins_once(worker, worker_mailbox):
    result = fail.apply_async((10,), max_attempts=2)
    job = wait_for(
        lambda: Job.objects.filter(id=result.id, status=JobStatus.FAILED).first(), timeout=30
    )
    assert job.attempts == 2
    assert "DiagnosticFailure" in job.error and "Traceback" in job.traceback
    subjects = wait_for(lambda: worker_mailbox.subjects())
    time.sleep(0.5)
    assert [s for s in worker_mailbox.subjects() if str(job.id) in s] == subjects[:1]


def test_unlisted_exception_fails_at_once_without_retry(worker):

    result = sleep.delay("not a number")
    job = wait_for(lambda: Job.objects.filter(id=result.id, status=JobStatus.FAILED).first())
    assert job.attempts == 1 and "ValueError" in job.error


def test_sigkill_of_the_worker_mid_job_completes_after_the_reaper(start_worker):
    from tests.testapp.models import SideEffect
    from tests.testapp.tasks import record

    doomed = start_worker("doomed")
    result = record.delay("survivor", 3)
    wait_for(lambda: Job.objects.filter(id=result.id, status=JobStatus.ACTIVE).exists())
    doomed.kill()
    killed_at = time.monotonic()
    start_worker("rescuer")
    wait_for(lambda: SideEffect.objects.filter(key="survivor").exists(), timeout=60)
    recovery = time.monotonic() - killed_at
    job = Job.objects.get(id=result.id)
    assert job.status == JobStatus.COMPLETED and job.crash_count == 1
    assert SideEffect.objects.filter(key="survivor").count() == 1
    assert recovery < 60


def test_poison_job_is_failed_after_n_deliveries_and_other_jobs_flow(worker):
    from tests.testapp.tasks import crash

    poison = crash.delay()
    healthy = [noop.delay(i) for i in range(20)]
    for result in healthy:
        result.get(timeout=30)
    job = wait_for(
        lambda: Job.objects.filter(id=poison.id, status=JobStatus.FAILED).first(), timeout=60
    )
    assert job.crash_count == 3 and "poison" in job.error


def test_hard_time_limit_fails_the_job(worker):
    from tests.testapp.tasks import overrun

    result = overrun.delay(30)
    job = wait_for(
        lambda: Job.objects.filter(id=result.id, status=JobStatus.FAILED).first(), timeout=30
    )
    assert "TimeLimitExceeded" in job.error


def test_enqueue_many_writes_rows_in_bulk_and_every_job_runs(worker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jobs import JobSpec, enqueue_many

    specs = [JobSpec(task="jobs.noop", args=[i]) for i in range(500)]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        jobs = enqueue_many(specs)
    # The rows go in with one COPY (not visible to Django's query log): no per-row INSERT.
    assert not [q for q in queries.captured_queries if "INSERT" in q["sql"]]
    assert len(jobs) == 500 and Job.objects.count() == 500
    wait_for(lambda: Job.objects.filter(status=JobStatus.COMPLETED).count() == 500, timeout=60)
