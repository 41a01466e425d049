"""Tasks written the plain Celery way (``@shared_task``, Celery's own options), made ledger
tasks by ``JOBS_LEDGER_TASKS`` in the test settings; ``plain_echo`` opts out."""

import time

from celery import shared_task

from tests.testapp.models import SideEffect


class Flaky(Exception):
    """The transient error ``flaky`` retries on."""


@shared_task
def add(x: int, y: int) -> int:
    return x + y


@shared_task(bind=True)
def record_plain(self, key: str, seconds: float = 0.0) -> str:
    """Sleeps, then records one side effect (counted by the tests)."""
    if seconds:
        time.sleep(seconds)
    SideEffect.objects.create(key=key, job_id=self.request.id)
    return key


@shared_task(bind=True, autoretry_for=(Flaky,), max_retries=2, default_retry_delay=0.1)
def flaky(self, key: str, failures: int) -> int:
    """Fails its first ``failures`` runs with a retryable error, then records its effect."""
    if self.request.retries < failures:
        raise Flaky(f"run {self.request.retries + 1}")
    SideEffect.objects.create(key=key, job_id=self.request.id)
    return self.request.retries


@shared_task(autoretry_for=(Flaky,), max_retries=2, default_retry_delay=0.1)
def broken() -> None:
    """An error outside autoretry_for: Celery does not retry it, nor does the ledger."""
    raise KeyError("not transient")


@shared_task(ledger=False)
def plain_echo(value):
    """Opted out: plain Celery, its result in django-celery-results."""
    return value
