"""Celery's own command line, as typed: ``celery -A config call`` puts a job through the
ledger (the worker adopts the message), ``celery -A config result`` reads it back."""

import subprocess
import sys

import pytest

from jobs.models import Job, JobStatus
from tests.support.processes import worker_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def celery(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", *args],
        capture_output=True,
        text=True,
        env=worker_env(),
        timeout=60,
    )


def test_celery_call_then_celery_result(start_worker):
    start_worker(queues=["default"])
    called = celery("call", "jobs.sleep", "--args", "[0.1]", "--queue", "default")
    assert called.returncode == 0, called.stderr
    job_id = called.stdout.strip().splitlines()[-1]

    job = wait_for(lambda: Job.objects.filter(id=job_id, status=JobStatus.COMPLETED).first())
    assert (job.task, job.args, job.result) == ("jobs.sleep", [0.1], 0.1)

    shown = celery("result", job_id)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "0.1"
