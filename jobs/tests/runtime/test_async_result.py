"""``AsyncResult(id)`` of a ledger job, in a process that did not enqueue it, reads the ledger
in Celery's vocabulary, and ``.get()`` returns the value or raises."""

import json
import subprocess
import sys

import pytest
from celery import states
from celery.result import AsyncResult

from jobs import job_cancel
from jobs.models import Job, JobStatus
from jobs.tasks import fail, sleep
from tests.support.processes import worker_env
from tests.testapp.tasks import boom

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Another process that knows only the job's id: the project's Celery app, nothing else.
READER = """
import json, sys
import django
django.setup()
from celery.result import AsyncResult
from config.celery import app
result = AsyncResult(sys.argv[1], app=app)
try:
    value = result.get(timeout=float(sys.argv[2]))
    print(json.dumps({"state": result.state, "value": value}))
except Exception as exc:
    print(json.dumps({"state": result.state, "raised": type(exc).__name__, "error": str(exc)}))
"""


def read_elsewhere(job_id: str, timeout: float = 15) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", READER, job_id, str(timeout)],
        capture_output=True,
        text=True,
        env=worker_env(),
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_get_from_another_process_returns_the_value_and_the_state_is_success(worker):
    job = sleep.delay(0.2)
    assert read_elsewhere(job.id) == {"state": states.SUCCESS, "value": 0.2}


def test_a_failed_job_raises_from_get_with_its_error(worker):
    job = boom.delay()
    answer = read_elsewhere(job.id)
    assert answer["state"] == states.FAILURE
    assert answer["raised"] == "JobFailed" and "Boom" in answer["error"]


def test_states_follow_the_ledger_row():
    waiting = sleep.delay(1)
    assert AsyncResult(waiting.id).state == states.PENDING
    assert waiting.state == states.PENDING  # what .delay() returned speaks Celery too
    assert waiting.job.status == JobStatus.WAITING  # and keeps the ledger's row
    job_cancel(job_id=waiting.id)
    assert AsyncResult(waiting.id).state == states.REVOKED

    retrying = fail.delay(times=1)
    Job.objects.filter(id=retrying.id).update(
        status=JobStatus.DELAYED, attempts=1, error="DiagnosticFailure: failing attempt 1"
    )
    result = AsyncResult(retrying.id)
    assert result.state == states.RETRY and "failing attempt 1" in str(result.result)

    Job.objects.filter(id=retrying.id).update(status=JobStatus.ACTIVE, progress=40)
    assert AsyncResult(retrying.id).state == "PROGRESS"
    assert AsyncResult(retrying.id).info == {"progress": 40, "message": ""}
