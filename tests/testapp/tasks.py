"""Tasks for fault-injection and guarantee tests (registered only in test settings)."""

import contextlib
import json
import os
import signal
import time

from pydantic import BaseModel

from jobs import PermanentError, enqueue_many, fixed, job_task
from tests.testapp.models import ChaosEffect, SideEffect


@job_task(name="testapp.record", bind=True, max_attempts=3, atomic=True)
def record(self, key: str, seconds: float = 0.0) -> str:
    """Sleeps, then records one side effect (the job's effect, counted by the tests). Atomic:
    the effect commits together with the job's completion."""
    if seconds:
        time.sleep(seconds)
    SideEffect.objects.create(key=key, job_id=self.request.id)
    return key


@job_task(name="testapp.connection_pooled")
def connection_pooled() -> bool:
    """Whether the process running it reaches the database through a connection pool."""
    from django.db import connection

    return connection.pool is not None


@job_task(name="testapp.crash", max_attempts=10)
def crash() -> None:
    """A poison job: kills the pool process running it, every time."""
    os.kill(os.getpid(), signal.SIGKILL)


@job_task(name="testapp.progress_then_sleep", bind=True)
def progress_then_sleep(self, seconds: float) -> None:
    self.progress(50, "half way")
    time.sleep(seconds)


@job_task(name="testapp.progress_steps", bind=True)
def progress_steps(self, steps: int = 3, pause: float = 1.0) -> None:
    """Reports progress in ``steps`` even steps (25, 50, 75 % for three), ``pause`` apart."""
    for step in range(1, steps + 1):
        self.progress(100 * step // (steps + 1), f"step {step} of {steps}")
        time.sleep(pause)


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


# --- Celery's retry vocabulary on ledger tasks -----------------------------------------------
@job_task(
    name="testapp.celery_style_retries",
    autoretry_for=(ValueError,),
    max_retries=2,
    retry_backoff=0.1,
    retry_jitter=False,
)
def celery_style_retries() -> None:
    raise ValueError("always")


@job_task(name="testapp.any_error_retries", max_attempts=3, backoff=fixed(0.1))
def any_error_retries() -> None:
    raise RuntimeError("no autoretry_for declared: every attempt counts")


@job_task(name="testapp.permanent", max_attempts=3, backoff=fixed(0.1))
def permanent() -> None:
    raise PermanentError("no retry can fix this")


@job_task(
    name="testapp.dont_retry", max_attempts=3, dont_autoretry_for=(KeyError,), backoff=fixed(0.1)
)
def dont_retry() -> None:
    raise KeyError("excluded")


@job_task(name="testapp.retry_call", bind=True, max_attempts=5)
def retry_call(self) -> None:
    raise self.retry(countdown=0.1, max_retries=1, exc=RuntimeError("again"))


# --- the chaos soak (chaos/): each task records its effect as a ChaosEffect row ---------------
class FirstAttemptFails(Exception):
    """What ``testapp.chaos_flaky`` raises on its first attempt (retried)."""


def _chaos_effect(task) -> None:
    ChaosEffect.objects.create(
        job_id=task.request.id,
        task=task.name,
        attempt=task.request.ledger_claim.attempts,
        pid=os.getpid(),
        parent_pid=os.getppid(),
    )


@job_task(name="testapp.chaos_atomic", bind=True, max_attempts=5, backoff=fixed(0.5), atomic=True)
def chaos_atomic(self, key: str, seconds: float = 0.0) -> str:
    """Exactly one effect whatever happens: the effect commits with the job's completion."""
    if seconds:
        time.sleep(seconds)
    _chaos_effect(self)
    return key


@job_task(name="testapp.chaos_plain", bind=True, max_attempts=5, backoff=fixed(0.5))
def chaos_plain(self, key: str, seconds: float = 0.0) -> str:
    """At-least-once: the effect commits at once, then the task sleeps; a kill of its worker in
    between runs it again and shows a second effect."""
    _chaos_effect(self)
    if seconds:
        time.sleep(seconds)
    return key


@job_task(name="testapp.chaos_flaky", bind=True, max_attempts=5, backoff=fixed(0.5), atomic=True)
def chaos_flaky(self, key: str) -> str:
    """Fails its first attempt, then records its effect once (atomic)."""
    if self.request.ledger_claim.attempts == 1:
        raise FirstAttemptFails(key)
    _chaos_effect(self)
    return key


# --- jobs.testing and argument checking at enqueue -------------------------------------------
@job_task(name="testapp.record_then_enqueue", bind=True)
def record_then_enqueue(self, key: str, then: str) -> str:
    """Records its effect, then enqueues ``testapp.record`` for ``then`` (a chained job)."""
    SideEffect.objects.create(key=key, job_id=self.request.id)
    record.delay(then)
    return key


class AfterTheEffect(Exception):
    """What ``testapp.record_then_fail`` raises once its effect is written."""


@job_task(
    name="testapp.record_then_fail", bind=True, max_attempts=2, backoff=fixed(0.1), atomic=True
)
def record_then_fail(self, key: str) -> None:
    """Atomic: its effect is rolled back with each failed attempt."""
    SideEffect.objects.create(key=key, job_id=self.request.id)
    raise AfterTheEffect(key)


@job_task(name="testapp.untyped", typing=False)
def untyped(value) -> None:
    """Declared with Celery's typing=False: its arguments are not checked at enqueue."""


class SeatChoice(BaseModel):
    """A pydantic model passed to a ``pydantic=True`` task."""

    row: str
    number: int


@job_task(name="testapp.next_seat", pydantic=True)
def next_seat(seat: SeatChoice) -> SeatChoice:
    """Celery's pydantic=True: a model in, validated from the stored JSON; a model out."""
    return SeatChoice(row=seat.row, number=seat.number + 1)


# --- workflows (Celery's canvas through the ledger) --------------------------------------------
@job_task(name="testapp.add", bind=True)
def add(self, x: float, y: float) -> float:
    """Adds, and records that it ran (one SideEffect per run, keyed by its job id)."""
    SideEffect.objects.create(key="add", job_id=self.request.id)
    return x + y


@job_task(name="testapp.total")
def total(values: list) -> float:
    return sum(values)


@job_task(name="testapp.note", bind=True)
def note(self, *values) -> list:
    """Records the values it was called with (a link or link_error callback's arguments)."""
    SideEffect.objects.create(key=json.dumps(list(values)), job_id=self.request.id)
    return list(values)


@job_task(name="testapp.on_error")
def on_error(request, exc, traceback) -> None:
    """An error callback in Celery's ``(request, exc, traceback)`` form, called in the failing
    worker: records the failed task's id, the exception and what the traceback was."""
    got = {
        "task": request.task,
        "exc": f"{type(exc).__name__}: {exc}",
        "traceback": "str" if isinstance(traceback, str) and "Traceback" in traceback else None,
    }
    SideEffect.objects.create(key=json.dumps(got)[:200], job_id=str(request.id))


@job_task(name="testapp.on_error_raises")
def on_error_raises(request, exc, traceback) -> None:
    """A ``(request, exc, traceback)`` error callback that raises after recording its call."""
    SideEffect.objects.create(key="on_error_raises", job_id=str(request.id))
    raise RuntimeError("the error callback failed too")


@job_task(name="testapp.step_fails", max_attempts=2, backoff=fixed(0.1))
def step_fails(*values) -> None:
    raise RuntimeError("the step cannot succeed")


@job_task(name="testapp.complete_then_die", bind=True, atomic=True)
def complete_then_die(self, value: float) -> float:
    """Returns, and its worker is SIGKILLed right after the transaction that completes the
    job (and creates its successor) commits, before that successor's message is sent."""
    SideEffect.objects.create(key="complete_then_die", job_id=self.request.id)
    from django.db import transaction

    transaction.on_commit(lambda: os.killpg(os.getpgid(0), signal.SIGKILL))
    return value


@job_task(name="testapp.collect", bind=True)
def collect(self, values: list) -> list:
    """A chord's body: records that it ran, returns the header's results as it got them."""
    SideEffect.objects.create(key="collect", job_id=self.request.id)
    return values


@job_task(name="testapp.fails_until_allowed", bind=True, max_attempts=1)
def fails_until_allowed(self, value: float) -> float:
    """Fails for good (one attempt) until a SideEffect keyed "allowed" exists: a step an
    operator retries once the cause is fixed. Records each run."""
    SideEffect.objects.create(key="fails_until_allowed", job_id=self.request.id)
    if not SideEffect.objects.filter(key="allowed").exists():
        raise RuntimeError("not allowed yet")
    return value
