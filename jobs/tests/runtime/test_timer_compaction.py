"""A prefork worker's main process does not keep the time-limit timers of finished jobs.

Celery arms a time-limit timer per job on the main process's event loop and only marks it
cancelled when the job ends; kombu keeps a cancelled entry in its heap until its due time
(four to five minutes with the default limits). The worker compacts the heap every
JOBS_TIMER_COMPACT_INTERVAL seconds; ``celery inspect timer_heap`` reports its size.
"""

import json
import socket
import subprocess
import sys
import time

import pytest

from config.celery import app
from jobs import JobSpec, enqueue_many
from jobs.models import Job, JobStatus
from tests.support.processes import worker_env
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

JOBS = 2000


def _timer_heap(worker_name: str) -> dict[str, int]:
    replies = app.control.broadcast(
        "timer_heap", reply=True, timeout=5, limit=1, destination=[worker_name]
    )
    assert replies, "the worker did not answer timer_heap"
    return next(iter(replies[0].values()))


def _worker(start_worker, interval: float):
    env = worker_env(
        JOBS_TIMER_COMPACT_INTERVAL=interval,
        # The defaults, said here because the retention below depends on them.
        CELERY_TASK_SOFT_TIME_LIMIT=240,
        CELERY_TASK_TIME_LIMIT=300,
    )
    return start_worker(name="timers", queues=["default"], concurrency=2, env=env)


def test_finished_jobs_time_limit_timers_leave_the_main_process_heap(start_worker):
    worker = _worker(start_worker, interval=0.5)
    name = f"timers@{socket.gethostname()}"

    enqueue_many([JobSpec(task="jobs.noop", args=[i]) for i in range(JOBS)])
    wait_for(lambda: Job.objects.filter(status=JobStatus.COMPLETED).count() == JOBS, timeout=120)

    # Every job armed a 240 s soft-limit timer that is cancelled now; without compaction
    # all of them would still be in the heap (about JOBS entries) for four minutes.
    deadline = time.monotonic() + 10
    while (heap := _timer_heap(name))["entries"] >= 50 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert heap["entries"] < 50 and heap["cancelled"] < 50, heap

    # The same answer through the command an operator types.
    typed = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "inspect", "timer_heap"]
        + ["-d", name, "--json", "--timeout", "5"],
        capture_output=True,
        text=True,
        env=worker_env(),
        timeout=60,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
    reply = json.loads(typed.stdout.strip().splitlines()[-1])[name]
    assert reply["entries"] < 50 and reply["cancelled"] < 50, reply

    # A warm shutdown stops the step with the consumer's others, cleanly.
    assert worker.stop() == 0
    assert "Traceback" not in worker.log(), worker.log()


def test_time_limits_still_fire_while_the_heap_is_compacted(start_worker):
    from tests.testapp.tasks import overrun

    worker = _worker(start_worker, interval=0.2)
    enqueue_many([JobSpec(task="jobs.noop", args=[i]) for i in range(200)])
    # Soft limit 1 s, hard 2 s: the soft timer is armed, survives several compactions
    # among cancelled entries, fires, and arms the hard one, which kills the run.
    started = time.monotonic()
    result = overrun.delay(30)
    job = wait_for(
        lambda: Job.objects.filter(id=result.id, status=JobStatus.FAILED).first(), timeout=20
    )
    assert "TimeLimitExceeded" in job.error
    assert time.monotonic() - started < 10
    assert "Soft time limit (1" in worker.log()
