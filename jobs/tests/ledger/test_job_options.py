"""Per-job options (backoff, timeout, remove_on_complete / remove_on_fail, unique_for) as
the ledger stores and applies them, and the attempts history going with its job."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from jobs import JobSpec, enqueue_many
from jobs.errors import InvalidInput
from jobs.ledger import attempts, broker
from jobs.ledger.enqueue import job_enqueue
from jobs.ledger.retention import apply_retention
from jobs.models import Job, JobAttempt, JobStatus
from jobs.tasks import noop
from tests.support.ledger_rows import make_job

pytestmark = pytest.mark.django_db


def _run_attempt(job: Job, *, error: str | None = None, retry: bool = True) -> attempts.Claim:
    """Claim the job and end the attempt as a worker would (no broker)."""
    Job.objects.filter(id=job.id).update(status=JobStatus.WAITING)
    claim = attempts.job_claim(job_id=str(job.id), worker="host:1")
    assert claim is not None
    if error is None:
        attempts.job_complete(claim=claim, result=None)
    elif retry:
        attempts.job_schedule_retry(claim=claim, delay=0, error=error, traceback="tb")
    else:
        attempts.job_fail(claim=claim, error=error, traceback="tb")
    return claim


# --- stored on the row ---------------------------------------------------------------------
def test_call_options_are_stored_on_the_job_row():
    result = noop.apply_async(
        backoff={"type": "fixed", "delay": 250},
        timeout=7,
        remove_on_complete={"age": 60, "count": 3},
        remove_on_fail=True,
    )
    job = Job.objects.get(id=result.id)
    assert job.backoff == {"type": "fixed", "delay": 250}
    assert job.hard_time_limit == 7
    assert job.remove_on_complete == {"age": 60, "count": 3}
    assert job.remove_on_fail is True


def test_bulk_specs_store_options_and_leave_unused_ones_sql_null():
    jobs = enqueue_many(
        [
            {"task": "jobs.noop", "backoff": {"type": "exponential", "delay": 100}},
            {"task": "jobs.noop", "remove_on_complete": 5},
            {"task": "jobs.noop"},
        ]
    )
    rows = {job.id: job for job in Job.objects.filter(id__in=[j.id for j in jobs])}
    first, second, third = (rows[j.id] for j in jobs)
    assert first.backoff == {"type": "exponential", "delay": 100}
    assert second.remove_on_complete == {"count": 5}
    # SQL NULL (not JSON null), so the partial retention indexes never hold such jobs.
    assert Job.objects.filter(id=third.id, backoff__isnull=True).exists()
    assert Job.objects.filter(
        id=third.id, remove_on_complete__isnull=True, remove_on_fail__isnull=True
    ).exists()


def test_claim_returns_the_jobs_own_backoff_and_removal_flags():
    job = Job.objects.get(
        id=noop.apply_async(backoff={"type": "fixed", "delay": 3000}, remove_on_fail=True).id
    )
    claim = attempts.job_claim(job_id=str(job.id), worker="host:1")
    assert claim is not None
    assert claim.backoff == {"type": "fixed", "delay": 3000}
    assert (claim.remove_on_complete, claim.remove_on_fail) == (False, True)
    assert noop.backoff_of(claim).seconds(1) == 3.0


def test_per_job_timeout_is_published_as_the_messages_time_limit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        result = noop.apply_async(timeout=3)
    raw = broker.redis_client().lrange(broker._list_for("default", result.job.priority), 0, -1)
    (message,) = [json.loads(m) for m in raw if json.loads(m)["headers"]["id"] == result.id]
    # A soft limit of its own, shortly before: the global soft limit (240 s) would hold the
    # hard one back (see broker._soft_limit_below).
    assert message["headers"]["timelimit"] == [3, 2.0]


@pytest.mark.parametrize(
    "options, field",
    [
        ({"backoff": {"type": "linear", "delay": 10}}, "backoff"),
        ({"backoff": {"type": "fixed", "delay": -1}}, "backoff"),
        ({"backoff": {"type": "fixed", "delay": 1, "extra": 1}}, "backoff"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 1.5}, "timeout"),
        ({"timeout": 10**6}, "timeout"),
        ({"remove_on_complete": {"age": -1}}, "remove_on_complete"),
        ({"remove_on_complete": {"keep": 1}}, "remove_on_complete"),
        ({"remove_on_fail": "yes"}, "remove_on_fail"),
        ({"unique_for": 60}, "unique_for"),  # no job_key
        ({"unique_for": 0, "job_key": "k"}, "unique_for"),
    ],
)
def test_bad_options_are_refused_naming_the_field(options, field):
    with pytest.raises(InvalidInput) as raised:
        job_enqueue(JobSpec(task="jobs.noop", **options))
    assert raised.value.field == field
    assert not Job.objects.exists()


# --- attempts history ---------------------------------------------------------------------
def test_each_failed_attempt_is_kept_with_its_error_worker_and_times():
    job = Job.objects.get(id=noop.apply_async(max_attempts=3).id)
    _run_attempt(job, error="first")
    _run_attempt(job, error="second", retry=False)

    history = list(JobAttempt.objects.filter(job=job).order_by("id"))
    assert [(a.number, a.outcome, a.error) for a in history] == [
        (1, "retried", "first"),
        (2, "failed", "second"),
    ]
    assert all(a.worker == "host:1" and a.started_at <= a.finished_at for a in history)
    assert Job.objects.get(id=job.id).status == JobStatus.FAILED


def test_history_is_deleted_with_its_job():
    job = Job.objects.get(id=noop.apply_async(max_attempts=3).id)
    _run_attempt(job, error="boom")
    assert JobAttempt.objects.filter(job_id=job.id).count() == 1
    Job.objects.filter(id=job.id).delete()
    assert not JobAttempt.objects.filter(job_id=job.id).exists()


# --- remove on finish ---------------------------------------------------------------------
def test_remove_on_complete_true_removes_the_row_as_it_completes():
    job = Job.objects.get(id=noop.apply_async(remove_on_complete=True, max_attempts=2).id)
    _run_attempt(job, error="once")
    _run_attempt(job)
    assert not Job.objects.filter(id=job.id).exists()
    assert not JobAttempt.objects.filter(job_id=job.id).exists()


def test_remove_on_fail_true_removes_the_row_as_it_fails_and_still_mails(mailoutbox):
    job = Job.objects.get(id=noop.apply_async(remove_on_fail=True).id)
    _run_attempt(job, error="fatal", retry=False)
    assert not Job.objects.filter(id=job.id).exists()
    assert len(mailoutbox) == 1 and "fatal" in mailoutbox[0].body


def test_remove_on_complete_count_keeps_the_newest_n_of_the_task():
    kept = []
    for i in range(5):
        job = make_job(
            status=JobStatus.COMPLETED,
            finished_ago=timedelta(minutes=10 - i),
            remove_on_complete={"count": 2},
        )
        kept.append(job.id)
    other = make_job(status=JobStatus.COMPLETED, finished_ago=timedelta(minutes=20))

    removed = apply_retention()

    assert removed["remove_on_complete"] == 3
    assert set(Job.objects.values_list("id", flat=True)) == {*kept[-2:], other.id}


def test_remove_on_complete_age_removes_only_older_jobs():
    old = make_job(
        status=JobStatus.COMPLETED,
        finished_ago=timedelta(hours=2),
        remove_on_complete={"age": 3600},
    )
    young = make_job(
        status=JobStatus.COMPLETED,
        finished_ago=timedelta(minutes=1),
        remove_on_complete={"age": 3600},
    )
    apply_retention()
    assert list(Job.objects.values_list("id", flat=True)) == [young.id]
    assert old.id != young.id


def test_remove_on_fail_options_and_true_left_over_are_swept():
    left_over = make_job(status=JobStatus.FAILED, remove_on_fail=True)
    capped = [
        make_job(
            status=JobStatus.FAILED,
            finished_ago=timedelta(minutes=10 - i),
            remove_on_fail={"count": 1},
        )
        for i in range(3)
    ]
    completed_with_fail_option = make_job(status=JobStatus.COMPLETED, remove_on_fail=True)
    apply_retention()
    assert set(Job.objects.values_list("id", flat=True)) == {
        capped[-1].id,
        completed_with_fail_option.id,
    }
    assert left_over.id not in set(Job.objects.values_list("id", flat=True))


def test_a_jobs_own_option_overrides_the_global_retention(settings):
    settings.JOBS_RETENTION = {"completed": {"age": 60}}
    governed_by_itself = make_job(
        status=JobStatus.COMPLETED,
        finished_ago=timedelta(hours=1),
        remove_on_complete={"age": 7200},
    )
    global_one = make_job(status=JobStatus.COMPLETED, finished_ago=timedelta(hours=1))
    apply_retention()
    assert list(Job.objects.values_list("id", flat=True)) == [governed_by_itself.id]
    assert global_one.id != governed_by_itself.id


# --- dedupe window ------------------------------------------------------------------------
def test_unique_for_returns_a_completed_job_within_the_window():
    first = noop.apply_async(job_key="payment-42", unique_for=3600)
    Job.objects.filter(id=first.id).update(status=JobStatus.COMPLETED, finished_at=timezone.now())

    again = noop.apply_async(job_key="payment-42", unique_for=3600)

    assert again.id == first.id and again.created is False
    assert Job.objects.filter(job_key="payment-42").count() == 1


def test_unique_for_creates_a_new_job_after_the_window():
    first = noop.apply_async(job_key="payment-43", unique_for=60)
    Job.objects.filter(id=first.id).update(
        status=JobStatus.COMPLETED,
        created_at=timezone.now() - timedelta(seconds=61),
        finished_at=timezone.now(),
    )
    again = noop.apply_async(job_key="payment-43", unique_for=60)
    assert again.id != first.id and again.created is True


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
def test_failed_or_cancelled_jobs_do_not_hold_the_key(status):
    first = noop.apply_async(job_key="payment-44", unique_for=3600)
    Job.objects.filter(id=first.id).update(status=status, finished_at=timezone.now())
    again = noop.apply_async(job_key="payment-44", unique_for=3600)
    assert again.created is True and again.id != first.id


def test_without_unique_for_a_completed_job_does_not_hold_the_key():
    first = noop.apply_async(job_key="payment-45")
    Job.objects.filter(id=first.id).update(status=JobStatus.COMPLETED, finished_at=timezone.now())
    assert noop.apply_async(job_key="payment-45").created is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_enqueues_of_one_key_make_one_job():
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def enqueue() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                job, created = job_enqueue(
                    JobSpec(task="jobs.noop", job_key="webhook-1", unique_for=600)
                )
                time.sleep(0.05)  # hold the transaction open: the others must wait for it
            outcomes.append((str(job.id), created))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enqueue) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len({job_id for job_id, _ in outcomes}) == 1
    assert sum(created for _, created in outcomes) == 1
    assert Job.objects.filter(job_key="webhook-1").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_enqueue_waits_for_the_open_transaction_that_holds_the_key():
    """The window holds across a commit that lands between another enqueue's check and its
    insert: the second enqueue takes its turn after the first transaction ended, and then
    finds the job completed (the live-key index alone would let it create a second)."""
    inside = threading.Event()
    done: dict = {}

    def first() -> None:
        with transaction.atomic():
            job, _ = job_enqueue(JobSpec(task="jobs.noop", job_key="webhook-2", unique_for=600))
            inside.set()
            time.sleep(0.5)
            # It completes before its transaction ends: no live job holds the key then.
            Job.objects.filter(id=job.id).update(
                status=JobStatus.COMPLETED, finished_at=timezone.now()
            )
        done["first"] = str(job.id)
        connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    started = time.monotonic()
    job, created = job_enqueue(JobSpec(task="jobs.noop", job_key="webhook-2", unique_for=600))
    waited = time.monotonic() - started
    thread.join()

    assert created is False and str(job.id) == done["first"]
    assert waited >= 0.3
