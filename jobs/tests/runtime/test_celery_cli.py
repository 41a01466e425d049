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


# Each command as an operator types it, and what its output must say. One worker answers
# them all: a worker's start costs more than the commands themselves.
COMMANDS = [
    (("status",), "online"),
    (("inspect", "ping", "--timeout", "5"), "pong"),
    (("inspect", "registered", "--timeout", "5"), "jobs.sleep"),
    (("inspect", "active_queues", "--timeout", "5"), "default"),
    (("control", "rate_limit", "jobs.noop", "100/s", "--timeout", "5"), "new rate limit"),
    (("purge", "-f", "-Q", "default"), "purged"),
    (("report",), "software -> celery"),
]


def test_every_celery_command_works_with_the_projects_settings(start_worker):
    start_worker(queues=["default"])
    wrong = []
    for args, expected in COMMANDS:
        answer = celery(*args)
        output = answer.stdout + answer.stderr
        if answer.returncode != 0 or expected not in output or "Traceback" in answer.stderr:
            wrong.append(f"celery {' '.join(args)} (exit {answer.returncode}):\n{output}")
    assert not wrong, "\n\n".join(wrong)


def test_celery_shell_and_events_start_with_the_projects_settings(start_worker):
    start_worker(queues=["default"])
    shell = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "shell", "--python"],
        input="from jobs.models import Job\nprint('jobs:', Job.objects.count())\n",
        capture_output=True,
        text=True,
        env=worker_env(),
        timeout=60,
    )
    assert "jobs: 0" in shell.stdout, shell.stdout + shell.stderr
    assert "Traceback" not in shell.stderr

    events = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "events", "--dump"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=worker_env(),
    )
    try:
        out, _ = events.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        events.terminate()
        out, _ = events.communicate(timeout=10)
    assert "Traceback" not in out, out
    assert "-> evdump: starting capture" in out, out
