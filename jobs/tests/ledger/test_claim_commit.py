"""A worker's claim commits without waiting for the WAL flush; its finish still waits.

PostgreSQL decides whether a commit waits for the disk from ``synchronous_commit`` as it
stands at commit time. The claim sets it to off for its own transaction (a local setting,
made by the statement itself); the finish runs with the session's setting. What happens
when such a claim is lost in a crash is tested with a real worker in
``tests/test_reliability.py`` (``test_a_claim_lost_in_a_database_crash_...``).
"""

import pytest
from django.db import connection, transaction

from jobs.ledger import attempts, sql
from jobs.models import Job, JobStatus
from tests.support.ledger_rows import make_job

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as in a worker


def _setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        return cursor.fetchone()[0]


def _prepared_statements() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return " ".join(row[0] for row in cursor.fetchall())


def test_a_workers_claim_is_the_statement_that_turns_the_commit_wait_off():
    job = make_job(status=JobStatus.WAITING)

    claim = attempts.job_claim(job_id=str(job.id), worker="w1@test")

    assert claim is not None and claim.attempts == 1
    assert "set_config('synchronous_commit', 'off', true)" in _prepared_statements()


def test_the_claim_statement_turns_the_wait_off_for_its_own_transaction_only():
    job = make_job(status=JobStatus.WAITING)
    params = ["active", job.created_at, "w1@test", False, job.id, "waiting", "*"]

    # Within a transaction the setting can be read before the commit
    with transaction.atomic():
        assert _setting() == "on"
        with connection.cursor() as cursor:
            cursor.execute(sql.CLAIM_ASYNC_COMMIT, params)
            assert cursor.fetchone() is not None  # it claimed the job
        assert _setting() == "off"  # what the claim's commit goes by

    # And it ended with that transaction: the finish commits with the session's setting
    assert _setting() == "on"
    Job.objects.filter(id=job.id).update(status=JobStatus.WAITING, attempts=0)
    claim = attempts.job_claim(job_id=str(job.id), worker="w1@test")
    assert _setting() == "on"
    assert "synchronous_commit" not in sql.COMPLETE
    assert attempts.job_complete(claim=claim, result=None)
    assert Job.objects.get(id=job.id).status == JobStatus.COMPLETED


def test_a_claim_inside_a_callers_transaction_leaves_the_callers_commit_durable():
    job = make_job(status=JobStatus.WAITING)

    with transaction.atomic():
        claim = attempts.job_claim(job_id=str(job.id), worker="w1@test")
        assert claim is not None
        assert _setting() == "on"
