"""Messages that reach a worker without a ledger row (``send_task`` from another service, a
producer in another language, ``celery call``) are adopted: recorded from the message, then
run once, like any job."""

import json
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from jobs import job_remove
from jobs.ledger.broker import queue_depths, redis_client
from jobs.models import Job, JobStatus
from tests.support.processes import worker_env
from tests.support.waiting import wait_for
from tests.testapp.models import SideEffect
from tests.testapp.tasks import record

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Another service: a bare Celery app that shares only the broker (no Django, no ledger).
PRODUCER = """
import json, sys
from celery import Celery
app = Celery(broker=sys.argv[1])
ids = []
for message in json.loads(sys.argv[2]):
    result = app.send_task(
        message["task"], args=message.get("args", []), queue=message.get("queue", "default"),
        task_id=message.get("id"), countdown=message.get("countdown"),
        retries=message.get("retries", 0),
    )
    ids.append(result.id)
print(json.dumps(ids))
"""


def send_from_another_service(*messages: dict) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PRODUCER, settings.CELERY_BROKER_URL, json.dumps(messages)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def _status(job_id: str) -> str | None:
    job = Job.objects.filter(id=job_id).first()
    return job.status if job else None


def test_send_task_from_another_service_is_recorded_and_runs_once(start_worker):
    start_worker(queues=["default"])
    (job_id,) = send_from_another_service({"task": "testapp.record", "args": ["adopted"]})

    wait_for(lambda: _status(job_id) == JobStatus.COMPLETED, timeout=20)
    job = Job.objects.get(id=job_id)
    assert (job.task, job.args, job.queue, job.attempts) == (
        "testapp.record",
        ["adopted"],
        "default",
        1,
    )
    assert job.max_attempts == 3  # the task's declared default
    assert SideEffect.objects.filter(key="adopted").count() == 1


def test_the_same_foreign_message_delivered_twice_runs_once(start_worker):
    start_worker(queues=["default"])
    job_id = str(uuid.uuid4())
    send_from_another_service(
        {"task": "testapp.record", "args": ["twice"], "id": job_id},
        {"task": "testapp.record", "args": ["twice"], "id": job_id},
    )
    wait_for(lambda: _status(job_id) == JobStatus.COMPLETED, timeout=20)
    # Give the second copy time to be received and turned away.
    time.sleep(2)
    assert SideEffect.objects.filter(key="twice").count() == 1
    assert Job.objects.get(id=job_id).attempts == 1


def test_a_removed_jobs_message_is_not_adopted(start_worker):
    # The ledger's own message (marked as such) for a job an operator removed: not run.
    removed = record.delay("removed")
    assert job_remove(job_id=removed.id)
    start_worker(queues=["default"])
    (foreign_id,) = send_from_another_service({"task": "testapp.record", "args": ["after"]})
    wait_for(lambda: _status(foreign_id) == JobStatus.COMPLETED, timeout=20)
    wait_for(lambda: queue_depths(["default"])["default"] == 0, timeout=10)
    time.sleep(1)  # the removed job's message was taken; give its attempt time to finish
    assert not Job.objects.filter(id=removed.id).exists()
    assert not SideEffect.objects.filter(key="removed").exists()


def test_a_message_for_a_task_no_worker_knows_is_kept_as_a_failed_job_saying_why(start_worker):
    start_worker(queues=["default"])
    (job_id,) = send_from_another_service({"task": "billing.not_deployed_yet", "args": [7]})
    job = wait_for(lambda: Job.objects.filter(id=job_id).first(), timeout=20)
    assert (job.status, job.task, job.args, job.queue) == (
        JobStatus.FAILED,
        "billing.not_deployed_yet",
        [7],
        "default",
    )
    assert "NotRegistered" in job.error and "billing.not_deployed_yet" in job.error


# --- a message with a future eta is recorded when it arrives -----------------------------------
# The project's own Celery app in another process (a management shell, a script, celery call).
PROJECT_PRODUCER = """
import json, sys
from config.celery import app
result = app.send_task(
    sys.argv[1], args=json.loads(sys.argv[2]), countdown=float(sys.argv[3]),
    retries=int(sys.argv[4]),
)
print(result.id)
"""


def send_with_the_projects_app(task: str, args: list, countdown: float, retries: int = 0):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PROJECT_PRODUCER,
            task,
            json.dumps(args),
            str(countdown),
            str(retries),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=worker_env(),
    )
    return result.stdout.strip().splitlines()[-1]


def test_a_message_with_a_future_eta_is_recorded_as_delayed_when_it_arrives(start_worker):
    start_worker(queues=["default"])
    sent_at = timezone.now()
    job_id = send_with_the_projects_app("jobs.sleep", [0.1], countdown=30, retries=1)

    job = wait_for(lambda: Job.objects.filter(id=job_id).first(), timeout=5)
    assert (job.status, job.task, job.args, job.queue) == (
        JobStatus.DELAYED,
        "jobs.sleep",
        [0.1],
        "default",
    )
    assert abs(job.scheduled_for - (sent_at + timedelta(seconds=30))) < timedelta(seconds=3)
    assert job.attempts == 1  # the message's retries: attempts made before it was sent
    # The message was acknowledged: nothing waits unacknowledged in Redis or in the worker.
    wait_for(lambda: redis_client().hlen("unacked") == 0, timeout=5)


def test_a_delayed_foreign_message_survives_a_sigkilled_worker_and_runs_once(start_worker):
    doomed = start_worker("doomed", queues=["default"])
    (job_id,) = send_from_another_service(
        {"task": "testapp.record", "args": ["eta-survivor"], "countdown": 5}
    )
    job = wait_for(lambda: Job.objects.filter(id=job_id, status=JobStatus.DELAYED).first())
    doomed.kill()  # SIGKILL while the job waits for its eta

    start_worker("rescuer", queues=["default"])
    wait_for(lambda: _status(job_id) == JobStatus.COMPLETED, timeout=30)
    time.sleep(1)
    done = Job.objects.get(id=job_id)
    assert SideEffect.objects.filter(key="eta-survivor").count() == 1
    assert done.attempts == 1 and done.started_at >= job.scheduled_for
