"""Celery's revoke is durable: whichever door it comes through, a job that has not started
never runs, on any worker, after any restart; a running job terminated on request ends
cancelled, not requeued."""

import subprocess
import sys
import time

import pytest
from celery.result import AsyncResult

from jobs.models import Job, JobStatus
from tests.support.processes import worker_env
from tests.support.waiting import wait_for
from tests.testapp.models import SideEffect
from tests.testapp.tasks import record

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _status(job_id: str) -> str:
    return Job.objects.get(id=job_id).status


def test_async_result_revoke_with_no_worker_running_cancels_a_delayed_job_for_good(
    start_worker,
):
    delayed = record.apply_async(("revoked-delayed",), countdown=1)
    AsyncResult(delayed.id).revoke()  # no worker is listening to the broadcast
    assert _status(delayed.id) == JobStatus.CANCELLED

    start_worker(queues=["default"])  # a worker that never heard of the revoke
    time.sleep(2.5)  # past the job's due time and a few stager ticks
    assert _status(delayed.id) == JobStatus.CANCELLED
    assert not SideEffect.objects.filter(key="revoked-delayed").exists()


def test_celery_control_revoke_from_the_command_line_cancels_a_waiting_job(start_worker):
    start_worker(name="listener", queues=["tickets.email"])  # answers the broadcast
    waiting = record.apply_async(("revoked-cli",), countdown=30)
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "control", "revoke", waiting.id],
        capture_output=True,
        text=True,
        env=worker_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    wait_for(lambda: _status(waiting.id) == JobStatus.CANCELLED, timeout=10)


def test_terminate_stops_a_running_job_and_records_it_cancelled(start_worker):
    start_worker(queues=["default"])
    running = record.delay("terminated", seconds=30)
    wait_for(lambda: _status(running.id) == JobStatus.ACTIVE, timeout=20)
    AsyncResult(running.id).revoke(terminate=True, signal="SIGKILL")
    wait_for(lambda: _status(running.id) == JobStatus.CANCELLED, timeout=20)
    time.sleep(1)
    assert _status(running.id) == JobStatus.CANCELLED  # not requeued as a lost worker
    assert not SideEffect.objects.filter(key="terminated").exists()
