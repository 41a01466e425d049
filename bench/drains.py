"""Drains of pre-enqueued jobs for the platform and raw Celery, in any worker configuration.

Used by the scenarios that vary the pool, the concurrency, the number of worker instances
or the job (a no-op, or a wait standing for a network call): 9 (peers at their best),
10 (I/O-bound), 11 (more workers) and 12 (cost as the ledger grows).

The jobs are enqueued onto a queue the workers do not consume yet; once every worker is
booted, each is told to consume it (`add_consumer`) and the clock starts, so worker boot is
excluded. The clock stops when nothing is left: for the platform, no job of the run is
waiting or active in the ledger (an index range of `job_queue_status_created`, cheap
whatever the number of finished rows); for raw Celery, the queue list and the unacked hash
are empty (acks are late, so a message leaves the hash when its job is done).
"""

import time
from dataclasses import dataclass

from bench import harness
from bench.harness import Worker

POLL = 0.05


@dataclass(frozen=True)
class Config:
    """How the jobs are consumed: `celery worker -P <pool> -c <concurrency>`, × instances."""

    pool: str = "prefork"
    concurrency: int = 2
    instances: int = 1

    @property
    def slots(self) -> int:
        """Jobs that can run at once."""
        return self.concurrency * self.instances

    def label(self) -> str:
        text = f"{self.pool} -c {self.concurrency}"
        return f"{self.instances} × {text}" if self.instances > 1 else text


def _start(app, make, config: Config) -> list[Worker]:
    workers = []
    try:
        for i in range(config.instances):
            workers.append(make(i))
        for worker in workers:
            worker.wait_ready(app)
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    return workers


def _stop(workers: list[Worker]) -> None:
    for worker in workers:
        worker.stop()


def platform_workers(config: Config = Config(), env: dict | None = None) -> list[Worker]:
    """Booted platform workers that consume only the maintenance queue until told to."""
    from bench.scenarios import _env, _platform_app

    return _start(
        _platform_app(),
        lambda i: Worker(
            "config",
            f"platform-{config.pool}-c{config.concurrency}-{i}",
            "jobs.maintenance",
            _env(JOBS_DISPATCH_INTERVAL=0.2, **(env or {})),
            concurrency=config.concurrency,
            pool=config.pool,
            extra=["-I", "bench.platform_tasks"],
        ),
        config,
    )


def platform(
    n: int,
    config: Config = Config(),
    *,
    waits: list[float] | None = None,
    truncate: bool = True,
    workers: list[Worker] | None = None,
) -> tuple[float, int]:
    """Drain n platform jobs (jobs.noop, or bench.platform.wait with waits[i] ms).

    truncate=False keeps the ledger's rows (scenario 12 measures a ledger that holds many
    finished jobs); only the broker is flushed. Given `workers` (from platform_workers) are
    used and left running, told to stop consuming the queue again at the end; otherwise
    workers are started for this drain and stopped. Returns (jobs/s, jobs completed).
    """
    from django.utils import timezone

    from bench.scenarios import _platform_app, _redis, _reset
    from jobs import JobSpec, enqueue_many
    from jobs.models import Job, JobStatus

    if truncate:
        _reset()
    else:
        _redis().flushdb()
    app = _platform_app()
    own = workers is None
    workers = platform_workers(config) if workers is None else workers
    try:
        since = timezone.now()
        for start in range(0, n, 1000):
            end = min(n, start + 1000)
            if waits:
                enqueue_many(
                    JobSpec(task="bench.platform.wait", kwargs={"ms": waits[i]})
                    for i in range(start, end)
                )
            else:
                enqueue_many(JobSpec(task="jobs.noop") for _ in range(start, end))
        live = Job.objects.filter(queue="default", status__in=[JobStatus.WAITING, JobStatus.ACTIVE])
        t0 = time.perf_counter()
        for worker in workers:
            app.control.add_consumer("default", destination=[worker.name], reply=True)
        deadline = time.monotonic() + max(300, n / 5)
        while live.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"platform drain ({config.label()}) did not finish")
            for worker in workers:
                if worker.proc.poll() is not None:
                    raise RuntimeError(f"worker exited: {worker.log_path.read_text()[-3000:]}")
            time.sleep(POLL)
        elapsed = time.perf_counter() - t0
        completed = Job.objects.filter(
            queue="default", status=JobStatus.COMPLETED, created_at__gte=since
        ).count()
        return n / elapsed, completed
    finally:
        if own:
            _stop(workers)
        else:
            for worker in workers:
                app.control.cancel_consumer("default", destination=[worker.name], reply=True)


def raw(n: int, config: Config = Config(), *, waits: list[float] | None = None) -> float:
    """Drain n raw Celery jobs (the platform's reliability settings); returns jobs/s."""
    from bench.scenarios import _env, _raw_app, _redis

    app = _raw_app("reliable")
    redis = _redis()
    redis.flushdb()
    workers = _start(
        app.app,
        lambda i: Worker(
            "bench.raw_app",
            f"raw-{config.pool}-c{config.concurrency}-{i}",
            "bench.idle",
            _env(BENCH_RAW_MODE="reliable"),
            concurrency=config.concurrency,
            pool=config.pool,
        ),
        config,
    )
    try:
        with app.app.producer_or_acquire() as producer, producer.batch():
            for i in range(n):
                if waits:
                    app.wait.apply_async((waits[i],), queue="bench.drain", producer=producer)
                else:
                    app.noop.apply_async(queue="bench.drain", producer=producer)
        t0 = time.perf_counter()
        for worker in workers:
            app.app.control.add_consumer("bench.drain", destination=[worker.name], reply=True)
        deadline = time.monotonic() + max(300, n / 5)
        while redis.llen("bench.drain") or redis.hlen("unacked"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw drain ({config.label()}) did not finish")
            time.sleep(POLL / 2)
        return n / (time.perf_counter() - t0)
    finally:
        _stop(workers)


def interleaved(variants: dict, *, runs: int, warmup: bool, report, what: str) -> dict:
    """Run every variant once per round (so drift hits them all), warm-up round discarded.

    A variant returns jobs/s, or (jobs/s, jobs completed, jobs expected) to be checked.
    """
    results = {name: harness.Measurement() for name in variants}
    for round_ in range(runs + (1 if warmup else 0)):
        for name, run in variants.items():
            outcome = run()
            if isinstance(outcome, tuple):
                rate, completed, expected = outcome
                report.check(
                    completed == expected, f"{what}: {name} completed {completed} of {expected}"
                )
            else:
                rate = outcome
            if not (warmup and round_ == 0):
                results[name].add(rate)
    return results
