"""The maintained finished-job counts (jobs.ledger.status_counts, migration
0011_status_counts) against a plain count of the ledger, after every kind of transition a
job goes through on a real worker, an operator's actions and retention."""

import pytest
from celery import chain
from celery.exceptions import TaskRevokedError
from celery.result import AsyncResult
from django.core.management import call_command
from django.db import connection

from jobs.ledger import selectors, sql
from jobs.ledger.operations import job_cancel, job_remove, job_retry
from jobs.ledger.retention import job_clean
from jobs.ledger.status_counts import status_counts_fold, status_counts_rebuild
from jobs.models import FINISHED_STATUSES, Job, JobStatus
from jobs.tasks import fail, noop
from tests.support.ledger_rows import make_job, make_jobs
from tests.support.waiting import wait_for

FINISHED = {s.value for s in FINISHED_STATUSES}
MAINTAINED = f"""
    SELECT queue, status, sum(n) FROM (
        SELECT queue, status, n FROM {sql.STATUS_COUNT_TABLE}
        UNION ALL
        SELECT queue, status, n FROM {sql.STATUS_COUNT_DELTA_TABLE}
    ) c GROUP BY queue, status HAVING sum(n) <> 0
"""


def _rows(statement: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def _recount() -> dict[tuple[str, str], int]:
    """What the counts must say: a plain count of the ledger, every (queue, status) pair."""
    return {
        (queue, status): n
        for queue, status, n in _rows(
            f"SELECT queue, status, count(*) FROM {Job._meta.db_table} GROUP BY queue, status"
        )
    }


def _log_rows() -> int:
    return _rows(f"SELECT count(*) FROM {sql.STATUS_COUNT_DELTA_TABLE}")[0][0]


def _folded() -> dict[tuple[str, str], int]:
    return {
        (queue, status): n
        for queue, status, n in _rows(
            f"SELECT queue, status, n FROM {sql.STATUS_COUNT_TABLE} WHERE n <> 0"
        )
    }


def _assert_exact() -> dict[tuple[str, str], int]:
    """The maintained counts (counts plus log, every queue, even unknown ones) equal the
    ledger's finished rows pair by pair, and queue_status_counts() equals the plain count
    for every pair it reports, live statuses included."""
    truth = _recount()
    maintained = {(q, s): int(n) for q, s, n in _rows(MAINTAINED)}
    assert maintained == {k: n for k, n in truth.items() if k[1] in FINISHED}
    counts = selectors.queue_status_counts()
    reported = {(q, s): n for q, by_status in counts.items() for s, n in by_status.items() if n}
    assert reported == {k: n for k, n in truth.items() if k[0] in counts}
    return truth


def _settled(*ids) -> bool:
    """Every job of ``ids`` finished (or gone), and no job waiting or running."""
    live = Job.objects.filter(status__in=[JobStatus.WAITING, JobStatus.ACTIVE]).exists()
    unfinished = Job.objects.filter(id__in=ids).exclude(status__in=FINISHED).exists()
    return not live and not unfinished


@pytest.mark.integration
def test_maintained_counts_equal_a_plain_count_through_every_transition(worker, staff_api):
    from tests.testapp.models import SideEffect
    from tests.testapp.tasks import add, fails_until_allowed

    assert connection.vendor == "postgresql"
    _assert_exact()

    # Runs on the worker: completions, a job removed as it completes (its DELETE carries no
    # finished row), failures for good, a retry through delayed, a failing chain step whose
    # successors are inserted as cancelled placeholders, and delayed jobs, one cancelled.
    done = [noop.delay(i) for i in range(5)]
    removed = noop.apply_async(remove_on_complete=True)
    failed = [fail.apply_async((5,), max_attempts=1) for _ in range(2)]
    retried = fail.apply_async((1,), max_attempts=2)
    flow = chain(add.s(1, 2), fails_until_allowed.s(), add.s(4)).apply_async()
    later = [noop.apply_async(countdown=3600) for _ in range(2)]
    assert job_cancel(job_id=later[0].id)
    for result in done:
        result.get(timeout=30)
    wait_for(lambda: not Job.objects.filter(id=removed.id).exists(), timeout=30)
    assert retried.get(timeout=30) == 2
    with pytest.raises(TaskRevokedError):
        AsyncResult(flow.id).get(timeout=30)
    wait_for(lambda: _settled(*[r.id for r in failed]), timeout=30)
    truth = _assert_exact()
    assert truth[("default", "failed")] == 3  # two for good, and the chain's step
    assert truth[("default", "cancelled")] == 2  # the chain's placeholder and a delayed job

    # A fold in between (the worker's maintenance folds too, concurrently).
    status_counts_fold()
    _assert_exact()

    # Retrying: a failed job fails again, the fixed chain step completes and its
    # placeholders make way for the real successor (a DELETE of cancelled rows).
    job_retry(job_id=failed[0].id)
    SideEffect.objects.create(key="allowed")
    step = Job.objects.get(task="testapp.fails_until_allowed")
    job_retry(job_id=str(step.id))
    assert AsyncResult(flow.id).get(timeout=30) == 7
    wait_for(lambda: _settled(failed[0].id), timeout=30)
    _assert_exact()

    # Moving jobs to another queue: finished ones (counted), and a delayed one (not).
    moved = [str(r.id) for r in done[:2]] + [str(failed[1].id), str(later[1].id)]
    assert Job.objects.filter(id__in=moved).update(queue="tickets.email") == 4
    _assert_exact()
    # A finished job to another finished status (not a platform transition; the trigger
    # sees it all the same).
    Job.objects.filter(id=done[2].id).update(status=JobStatus.CANCELLED)
    _assert_exact()

    # Retention and removals: deletes of finished rows in batches, and of a live one.
    assert job_clean(queue="default", grace_ms=0, status=JobStatus.COMPLETED, limit=2) == 2
    assert job_clean(queue=None, grace_ms=0, status=JobStatus.FAILED) == 2
    assert job_remove(job_id=later[0].id) and job_remove(job_id=later[1].id)
    _assert_exact()

    status_counts_fold()
    truth = _assert_exact()

    # What the operators' API answers adds up to the same plain count.
    body = staff_api.get("/api/jobs/metrics").json()
    by_queue = {q["queueName"]: q for q in body["queues"]}
    for (queue, status), n in truth.items():
        assert by_queue[queue][status] == n, (queue, status)
    for status in ("completed", "failed", "cancelled", "waiting", "active", "delayed"):
        total = sum(n for (_, s), n in truth.items() if s == status)
        assert body[f"{status}Jobs"] == total, status
    assert body["totalJobs"] == sum(truth.values()) == Job.objects.count()
    status_body = staff_api.get("/api/jobs/status").json()
    for (queue, status), n in truth.items():
        assert status_body["queues"][queue][status] == n, (queue, status)


@pytest.mark.django_db
def test_a_fold_empties_the_log_into_the_counts_and_a_second_changes_nothing():
    make_jobs(3, status=JobStatus.COMPLETED)
    make_job(status=JobStatus.FAILED, queue="tickets.email")
    make_job(status=JobStatus.CANCELLED)
    make_job(status=JobStatus.WAITING)  # live: no change logged
    status_counts_fold()
    Job.objects.filter(status=JobStatus.FAILED).update(status=JobStatus.WAITING)
    before = _assert_exact()
    assert _log_rows() == 1  # the failed job's -1, after the first fold

    assert status_counts_fold() == 1  # one (queue, status) pair

    assert _log_rows() == 0
    assert _folded() == {
        ("default", "completed"): 3,
        ("default", "cancelled"): 1,
    }
    assert _assert_exact() == before
    assert status_counts_fold() == 0 and _assert_exact() == before


@pytest.mark.django_db
def test_truncating_the_ledger_empties_the_counts():
    make_jobs(2, status=JobStatus.COMPLETED)
    status_counts_fold()
    make_job(status=JobStatus.FAILED)

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Job._meta.db_table}, jobs_jobattempt")

    assert _rows(MAINTAINED) == [] and _log_rows() == 0
    assert selectors.queue_status_counts()["default"]["completed"] == 0


@pytest.mark.django_db
def test_rebuild_recounts_what_bypassed_the_triggers():
    make_job(status=JobStatus.COMPLETED)
    make_job(status=JobStatus.WAITING)
    with connection.cursor() as cursor:
        # A bulk load with the triggers off (as the benchmarks seed), and a count gone wrong.
        cursor.execute(f"ALTER TABLE {Job._meta.db_table} DISABLE TRIGGER USER")
        make_jobs(2, status=JobStatus.FAILED, queue="tickets.email")
        cursor.execute(f"ALTER TABLE {Job._meta.db_table} ENABLE TRIGGER USER")
        cursor.execute(f"UPDATE {sql.STATUS_COUNT_TABLE} SET n = 99")
    assert selectors.queue_status_counts()["tickets.email"]["failed"] == 0

    rebuilt = status_counts_rebuild()

    assert rebuilt == {("default", "completed"): 1, ("tickets.email", "failed"): 2}
    assert _log_rows() == 0 and _folded() == rebuilt
    assert selectors.queue_status_counts()["tickets.email"]["failed"] == 2
    _assert_exact()


@pytest.mark.django_db
def test_the_rebuild_command_prints_the_new_counts(capsys):
    make_jobs(2, status=JobStatus.CANCELLED)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {sql.STATUS_COUNT_DELTA_TABLE}")

    call_command("rebuild_status_counts")

    out = capsys.readouterr().out
    assert "default cancelled: 2" in out and "rebuilt: 2 finished jobs" in out
    _assert_exact()
