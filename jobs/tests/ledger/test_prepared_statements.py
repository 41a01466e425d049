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


@pytest.mark.parametrize(
    "job_id",
    ["1b4e28ba-2fa1-11d2-883f-0000f86f2f1e", "1B4E28BA2FA111D2883F0000F86F2F1E"],
)
def test_a_job_id_is_passed_as_the_primary_key_field_would_pass_it(job_id):
    """The hot path converts ids itself; it must give what the field gives, a UUID or not."""
    import uuid

    field = Job._meta.pk
    expected = field.get_db_prep_value(field.to_python(job_id), connection)

    assert attempts._pk(job_id) == expected
    assert attempts._pk(uuid.UUID(job_id)) == expected


def test_an_id_that_is_no_uuid_is_refused_as_the_field_refuses_it():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        attempts._pk("not-a-uuid")
