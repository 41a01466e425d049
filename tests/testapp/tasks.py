"""Tasks for fault-injection and guarantee tests (registered only in test settings)."""

import contextlib
import os
import signal
import time

from jobs import enqueue_many, job_task
from tests.testapp.models import SideEffect


@job_task(name="testapp.record", bind=True, max_attempts=3, atomic=True)
def record(self, key: str, seconds: float = 0.0) -> str:
    """Sleeps, then records one side effect (the job's effect, counted by the tests). Atomic:
    the effect commits together with the job's completion."""
    if seconds:
        time.sleep(seconds)
    SideEffect.objects.create(key=key, job_id=self.request.id)
    return key


@job_task(name="testapp.crash", max_attempts=10)
def crash() -> None:
    """A poison job: kills the pool process running it, every time."""
    os.kill(os.getpid(), signal.SIGKILL)


@job_task(name="testapp.progress_then_sleep", bind=True)
def progress_then_sleep(self, seconds: float) -> None:
    self.progress(50, "half way")
    time.sleep(seconds)


@job_task(name="testapp.overrun", time_limit=2, soft_time_limit=1)
def overrun(seconds: float) -> None:
    """Ignores its soft time limit: only the hard limit stops it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            time.sleep(0.1)


@job_task(name="testapp.enqueue_batch")
def enqueue_batch(n: int) -> int:
    """Enqueues ``n`` no-op jobs from inside a worker's pool process (as the waitlist's sweep
    does), the path that once silenced the process's log."""
    return len(enqueue_many([{"task": "jobs.noop"} for _ in range(n)]))


class Boom(Exception):
    """The error ``testapp.boom`` fails with (not retried)."""


@job_task(name="testapp.boom")
def boom() -> None:
    raise Boom("the failure an operator must see in the worker's log")
