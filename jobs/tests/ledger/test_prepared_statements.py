"""The hot path's statements are prepared once per connection, and still work when a
connection pooler forces prepared statements off."""

import pytest
from django.db import connection

from jobs.ledger import attempts
from jobs.ledger.enqueue import JobSpec, job_enqueue
from jobs.models import Job, JobStatus
from tests.support.ledger_rows import make_job

pytestmark = pytest.mark.django_db


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def _run_one_job(job: Job) -> Job:
    claim = attempts.job_claim(job_id=str(job.id), worker="w1@test")
    assert claim is not None and claim.attempts == 1
    assert attempts.job_complete(claim=claim, result={"ok": True})
    job.refresh_from_db()
    return job


def test_enqueue_claim_and_finish_run_as_prepared_statements():
    job, _ = job_enqueue(JobSpec(task="jobs.noop"))

    done = _run_one_job(job)

    assert done.status == JobStatus.COMPLETED and done.result == {"ok": True}
    statements = " ".join(_prepared_statements())
    assert "INSERT INTO jobs_job" in statements
    assert "RETURNING attempts, max_attempts" in statements  # the claim
    assert "SET status = $1, finished_at = $2" in statements  # the finish


@pytest.fixture
def unprepared_connection(monkeypatch):
    """A new connection made as with JOBS_DB_PREPARED_STATEMENTS=false; closed afterwards
    so that later tests connect with the real settings again."""
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {})
    connection.close()
    yield
    connection.close()


@pytest.mark.django_db(transaction=True)  # closes the connection: no wrapping transaction
def test_with_prepared_statements_off_the_same_statements_run_unprepared(unprepared_connection):
    job = make_job(status=JobStatus.WAITING)

    done = _run_one_job(job)

    assert done.status == JobStatus.COMPLETED
    assert _prepared_statements() == []


def test_a_second_claim_of_the_same_job_changes_nothing():
    job = make_job(status=JobStatus.WAITING)
    _run_one_job(job)

    assert attempts.job_claim(job_id=str(job.id), worker="w2@test") is None
