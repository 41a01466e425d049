"""The execution pools Celery users pick: prefork (CPU-bound), threads (I/O-bound) and solo.
Under each, ledger jobs run once each, and a SIGKILLed worker's job is rescued and finished
by another worker."""

import time

import pytest

from jobs.models import Job, JobStatus
from tests.support.processes import worker_env
from tests.support.waiting import wait_for
from tests.testapp.models import SideEffect
from tests.testapp.tasks import connection_pooled, record

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POOLS = [("prefork", 2), ("threads", 8), ("solo", 1)]


@pytest.mark.parametrize("pool, concurrency", POOLS, ids=[p for p, _ in POOLS])
def test_each_job_runs_once(start_worker, pool, concurrency):
    start_worker(f"{pool}-worker", queues=["default"], pool=pool, concurrency=concurrency)
    results = [record.delay(f"{pool}-{i}", 0.05) for i in range(30)]
    for result in results:
        result.get(timeout=60)
    assert SideEffect.objects.filter(key__startswith=f"{pool}-").count() == 30
    assert set(
        Job.objects.filter(id__in=[r.id for r in results]).values_list("attempts", flat=True)
    ) == {1}


@pytest.mark.parametrize("pool, concurrency", [("prefork", 2), ("threads", 4)])
def test_a_worker_started_with_the_web_pool_setting_still_runs_jobs(
    start_worker, pool, concurrency
):
    """DB_POOL=1 is the web's setting (config/asgi.py sets it in its process's environment);
    a worker started from such an environment keeps one connection per process instead of
    failing every query with "the pool is closed"."""
    start_worker(
        f"{pool}-pooled",
        queues=["default"],
        pool=pool,
        concurrency=concurrency,
        env=worker_env(DB_POOL="1"),
    )
    results = [record.delay(f"pooled-{pool}-{i}", 0) for i in range(5)]
    for result in results:
        result.get(timeout=30)
    assert SideEffect.objects.filter(key__startswith=f"pooled-{pool}-").count() == 5
    assert connection_pooled.delay().get(timeout=30) is False


@pytest.mark.slow
@pytest.mark.parametrize("pool, concurrency", POOLS, ids=[p for p, _ in POOLS])
def test_a_sigkilled_workers_job_is_rescued_and_finished_once(start_worker, pool, concurrency):
    doomed = start_worker(f"doomed-{pool}", queues=["default"], pool=pool, concurrency=concurrency)
    result = record.delay(f"survivor-{pool}", 3)
    wait_for(lambda: Job.objects.filter(id=result.id, status=JobStatus.ACTIVE).exists())
    doomed.kill()
    killed_at = time.monotonic()
    start_worker(f"rescuer-{pool}", queues=["default"], pool=pool, concurrency=concurrency)
    wait_for(lambda: SideEffect.objects.filter(key=f"survivor-{pool}").exists(), timeout=60)
    job = Job.objects.get(id=result.id)
    assert job.status == JobStatus.COMPLETED
    assert SideEffect.objects.filter(key=f"survivor-{pool}").count() == 1
    assert time.monotonic() - killed_at < 60
