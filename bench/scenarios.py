"""The benchmark scenarios. Each records its rows into the Report."""

import os
import time
from dataclasses import dataclass
from functools import partial

import django

from bench import harness
from bench.harness import Measurement, Worker

_django_ready = False


@dataclass(frozen=True)
class Sizes:
    drain: int
    enqueue: int
    enqueue_batch: int
    latency: int
    delayed: int
    delayed_spread: tuple[float, float]
    sweep: int
    operator_rows: int
    operator_requests: int
    io_jobs: int  # 10. I/O-bound: jobs of 10-50 ms
    growth_rows: tuple[int, ...]  # 12a. finished rows already in the ledger
    rss_jobs: int  # 12b. jobs run after the warm-up while the worker's memory is watched
    rss_warmup: int

    @classmethod
    def full(cls) -> "Sizes":
        return cls(
            20_000, 20_000, 1_000, 300, 1_000, (1.0, 20.0), 100_000, 1_000_000, 60,
            io_jobs=2_000, growth_rows=(0, 1_000_000, 10_000_000), rss_jobs=100_000,
            rss_warmup=5_000,
        )  # fmt: skip

    @classmethod
    def medium(cls) -> "Sizes":
        return cls(
            5_000, 5_000, 1_000, 100, 200, (1.0, 10.0), 10_000, 100_000, 20,
            io_jobs=500, growth_rows=(0, 1_000_000), rss_jobs=20_000, rss_warmup=2_000,
        )  # fmt: skip

    @classmethod
    def smoke(cls) -> "Sizes":
        return cls(
            200, 200, 50, 20, 20, (0.5, 2.0), 1_000, 5_000, 5,
            io_jobs=40, growth_rows=(10_000,), rss_jobs=200, rss_warmup=50,
        )  # fmt: skip


def prepare_database(url: str) -> None:
    """Create the benchmark database if needed and migrate it."""
    global _django_ready
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _django_ready = True


def _env(**extra) -> dict:
    return {**os.environ, **{k: str(v) for k, v in extra.items()}}


def _redis():
    import redis

    # redis-py 8 reads with a 5 s socket timeout by default, which would cut the 30 s BLPOP
    # the latency probe waits with short.
    return redis.Redis.from_url(os.environ["BENCH_REDIS_URL"], socket_timeout=60)


def _reset() -> None:
    from django.db import connection

    _redis().flushdb()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_job, jobs_jobattempt, jobs_workerprocess")


def _platform_app():
    from config.celery import app

    return app


def _raw_app(mode: str):
    os.environ["BENCH_RAW_MODE"] = mode
    import importlib

    import bench.raw_app as raw

    return importlib.reload(raw)


# --- 1. drain ---------------------------------------------------------------------------


def _timed_drain(app, worker: Worker, queue: str, n: int, *, done, poll: float):
    """Tell a booted worker to consume ``queue`` and wait until ``done()``: the seconds it
    took and the drain's costs per job (Redis commands, CPU by process)."""
    redis = _redis()
    before_redis, before_cpu = harness.redis_command_count(redis), harness.cpu_seconds(worker)
    t0 = time.perf_counter()
    app.control.add_consumer(queue, destination=[worker.name], reply=True)
    while not done():
        time.sleep(poll)
    elapsed = time.perf_counter() - t0
    cpu = harness.cpu_per_job(before_cpu, harness.cpu_seconds(worker), n)
    commands = (harness.redis_command_count(redis) - before_redis) / n
    return elapsed, {"redis_commands": commands, **cpu}


def _drain_platform(n: int) -> tuple[float, dict]:
    from django.db import connection

    from jobs import JobSpec, enqueue_many
    from jobs.models import Job, JobStatus

    _reset()
    app = _platform_app()
    worker = Worker(
        "config", "platform-drain", "jobs.maintenance", _env(JOBS_DISPATCH_INTERVAL=0.2)
    ).wait_ready(app)
    try:
        for start in range(0, n, 1000):
            enqueue_many(JobSpec(task="jobs.noop") for _ in range(start, min(n, start + 1000)))
        before_pg = harness.pg_counters_settled(connection)
        elapsed, costs = _timed_drain(
            app,
            worker,
            "default",
            n,
            done=lambda: Job.objects.filter(status=JobStatus.COMPLETED).count() >= n,
            poll=0.1,
        )
        after_pg = harness.pg_counters_settled(connection)
        polls = int(elapsed / 0.1) + 1  # our own completion polling, not the platform's cost
        costs["db_transactions"] = (
            after_pg["transactions"] - before_pg["transactions"] - polls
        ) / n
        costs["db_rows_updated"] = (after_pg["updated"] - before_pg["updated"]) / n
        return n / elapsed, costs
    finally:
        worker.stop()


def _drain_raw(n: int, mode: str) -> tuple[float, dict]:
    raw = _raw_app(mode)
    redis = _redis()
    redis.flushdb()
    worker = Worker(
        "bench.raw_app", f"raw-{mode}-drain", "bench.idle", _env(BENCH_RAW_MODE=mode)
    ).wait_ready(raw.app)
    try:
        with raw.app.producer_or_acquire() as producer, producer.batch():
            for _ in range(n):
                raw.noop.apply_async(queue="bench.drain", producer=producer)
        elapsed, costs = _timed_drain(
            raw.app,
            worker,
            "bench.drain",
            n,
            done=lambda: not (redis.llen("bench.drain") or redis.hlen("unacked")),
            poll=0.02,
        )
        return n / elapsed, costs
    finally:
        worker.stop()


def _ledger_env() -> dict:
    """What the raw app's ledger_* tasks need: the platform's own claim and finish SQL."""
    import json

    from jobs.ledger import sql
    from jobs.models import QueueState

    return _env(
        BENCH_RAW_MODE="reliable",
        BENCH_LEDGER_DSN=os.environ["DATABASE_URL"],
        BENCH_LEDGER_SQL=json.dumps(
            {"claim": sql.CLAIM_ASYNC_COMMIT, "complete": sql.COMPLETE, "all": QueueState.ALL}
        ),
    )


def _ledger_rows(task: str, n: int) -> list[str]:
    """n waiting ledger rows for a raw task, written as enqueue_many writes them but not
    published: the raw app publishes their messages itself. Returns their ids."""
    from django.db import transaction
    from django.utils import timezone

    from jobs.ledger.enqueue import JobSpec, insert_jobs, job_build

    ids = []
    for start in range(0, n, 1000):
        now = timezone.now()
        jobs = [job_build(JobSpec(task=task), now=now) for _ in range(start, min(n, start + 1000))]
        with transaction.atomic():
            insert_jobs(jobs)
        ids.extend(str(job.id) for job in jobs)
    return ids


def _drain_raw_ledger(n: int) -> tuple[float, dict]:
    """Raw Celery whose task runs the ledger's claim and finish by hand (raw_app.py)."""
    from jobs.models import Job, JobStatus

    _reset()
    raw = _raw_app("reliable")
    worker = Worker("bench.raw_app", "raw-ledger-drain", "bench.idle", _ledger_env()).wait_ready(
        raw.app
    )
    try:
        ids = _ledger_rows("bench.raw.ledger_noop", n)
        with raw.app.producer_or_acquire() as producer, producer.batch():
            for job_id in ids:
                raw.ledger_noop.apply_async(queue="bench.drain", producer=producer, task_id=job_id)
        # Polled as the platform's drain is: by the ledger's completed count.
        elapsed, costs = _timed_drain(
            raw.app,
            worker,
            "bench.drain",
            n,
            done=lambda: Job.objects.filter(status=JobStatus.COMPLETED).count() >= n,
            poll=0.1,
        )
        return n / elapsed, costs
    finally:
        worker.stop()


def run_drain(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    variants = {
        "platform (ledger)": lambda: _drain_platform(sizes.drain),
        "raw Celery + the ledger's two statements by hand": lambda: _drain_raw_ledger(sizes.drain),
        "raw Celery, same reliability": lambda: _drain_raw(sizes.drain, "reliable"),
        "raw Celery, fast defaults": lambda: _drain_raw(sizes.drain, "fast"),
    }
    results = {name: Measurement() for name in variants}
    for round_ in range(runs + (1 if warmup else 0)):
        for name, run in variants.items():  # interleaved, so drift hits every variant
            rate, costs = run()
            if warmup and round_ == 0:
                continue
            results[name].add(rate, **costs)
    report.drain(results, n=sizes.drain)


# --- 2. enqueue -------------------------------------------------------------------------


def _enqueue_raw(n: int) -> float:
    raw = _raw_app("reliable")
    _redis().flushdb()
    t0 = time.perf_counter()
    for _ in range(n):
        raw.noop.delay()
    return n / (time.perf_counter() - t0)


def _enqueue_platform_delay(n: int) -> float:
    from jobs.tasks import noop

    _reset()
    t0 = time.perf_counter()
    for _ in range(n):
        noop.delay()
    return n / (time.perf_counter() - t0)


def _enqueue_platform_many(n: int, batch: int) -> float:
    from django.db import transaction

    from jobs import JobSpec, enqueue_many

    _reset()
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        with transaction.atomic():
            enqueue_many(JobSpec(task="jobs.noop") for _ in range(start, min(n, start + batch)))
    return n / (time.perf_counter() - t0)


def _insert_by_hand(conn, task: str):
    """A function writing one waiting ledger row for ``task`` with the ledger's own INSERT
    (prepared, autocommit, on ``conn``: a plain psycopg connection) and returning its id.
    The row's values are built once: the platform's Python is not what is measured."""
    from django.utils import timezone

    from jobs.ledger import sql
    from jobs.ledger.enqueue import JobSpec, _column, job_build
    from jobs.ledger.ids import uuid7

    template = job_build(JobSpec(task=task), now=timezone.now())
    row = [_column(template, name, kind) for name, kind in sql.INSERT_COLUMNS]

    def insert() -> str:
        row[0] = uuid7()
        conn.execute(sql.INSERT_ONE, row, prepare=True)
        return str(row[0])

    return insert


def _enqueue_raw_after_insert(n: int) -> float:
    """Raw Celery .delay(), each after the ledger's INSERT of its row, committed: the
    platform's statement by hand (prepared, on a plain psycopg connection), its Python not."""
    import psycopg

    raw = _raw_app("reliable")
    _reset()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        insert = _insert_by_hand(conn, "bench.raw.noop")
        t0 = time.perf_counter()
        for _ in range(n):
            raw.noop.apply_async(task_id=insert())
        return n / (time.perf_counter() - t0)


def _procrastinate_batches():
    """Procrastinate's batch_defer, measured in this scenario beside enqueue_many (the
    peers group installs it; without it the variant is left out)."""
    from bench import peers

    if not peers.Procrastinate.available():
        return None
    peer = peers.Procrastinate()
    peer.setup()
    return peer


def run_enqueue(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from jobs.models import Job

    variants = {
        "raw Celery .delay()": lambda: _enqueue_raw(sizes.enqueue),
        "raw Celery .delay() after the ledger's INSERT by hand": lambda: _enqueue_raw_after_insert(
            sizes.enqueue
        ),
        "platform .delay()": lambda: _enqueue_platform_delay(sizes.enqueue),
        f"platform enqueue_many (batches of {sizes.enqueue_batch})": partial(
            _enqueue_platform_many, sizes.enqueue, sizes.enqueue_batch
        ),
    }
    procrastinate = _procrastinate_batches()
    if procrastinate is not None:
        from bench import peers

        variants[f"Procrastinate batch_defer (batches of {sizes.enqueue_batch})"] = lambda: (
            peers._enqueue(procrastinate, sizes.enqueue, sizes.enqueue_batch)[0]
        )
    results = {name: Measurement() for name in variants}
    for round_ in range(runs + (1 if warmup else 0)):
        for name, run in variants.items():
            rate = run()
            if name.startswith("platform") or "INSERT" in name:
                report.check(
                    Job.objects.count() == sizes.enqueue,
                    f"enqueue: {name} wrote {Job.objects.count()} of {sizes.enqueue}",
                )
            if not (warmup and round_ == 0):
                results[name].add(rate)
    report.enqueue(results, n=sizes.enqueue)


# --- 3. latency -------------------------------------------------------------------------


def _latency(send, n: int, worker: Worker) -> list[float]:
    redis = _redis()
    values = []
    for _ in range(n):
        send(time.time())
        popped = redis.blpop("bench:latency", timeout=30)
        if popped is None:
            raise RuntimeError(
                f"a latency probe did not start within 30 s; the worker's log "
                f"({worker.log_path}) ends:\n{worker.log_path.read_text()[-3000:]}"
            )
        values.append(float(popped[1]) * 1000)
        time.sleep(0.005)  # an idle worker between jobs
    return values


def run_latency(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    """Three idle workers at once (the platform, raw Celery, raw Celery with the ledger's
    statements by hand), probed in turn, one job at a time: drift on the machine reaches
    every variant alike."""
    import psycopg

    from bench.platform_tasks import probe

    _reset()
    raw = _raw_app("reliable")
    workers = [
        Worker(
            "config", "platform-latency", "default", _env(), extra=["-I", "bench.platform_tasks"]
        ),
        Worker("bench.raw_app", "raw-latency", "celery", _env()),
        Worker("bench.raw_app", "raw-ledger-latency", "bench.ledger", _ledger_env()),
    ]
    try:
        workers[0].wait_ready(_platform_app())
        workers[1].wait_ready(raw.app)
        workers[2].wait_ready(raw.app)
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            insert = _insert_by_hand(conn, "bench.raw.ledger_probe")

            def ledger_by_hand(sent_at: float) -> None:
                """The committed INSERT before the publish; the task claims before reading
                the clock and finishes after (raw_app.ledger_probe)."""
                raw.ledger_probe.apply_async((sent_at,), task_id=insert(), queue="bench.ledger")

            variants = {
                "platform": (lambda t: probe.delay(t), workers[0]),
                "raw Celery": (lambda t: raw.probe.delay(t), workers[1]),
                "raw Celery + the ledger's statements by hand": (ledger_by_hand, workers[2]),
            }
            results: dict[str, list[float]] = {name: [] for name in variants}
            for round_ in range((20 if warmup else 0) + sizes.latency * runs):
                for name, (send, worker) in variants.items():
                    values = _latency(send, 1, worker)
                    if round_ >= (20 if warmup else 0):
                        results[name] += values
    finally:
        for worker in workers:
            worker.stop()
    report.latency(results, n=sizes.latency * runs)


# --- 4. delayed precision ---------------------------------------------------------------


def run_delayed(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    import random

    from jobs.models import Job, JobStatus
    from jobs.tasks import noop

    _reset()
    app = _platform_app()
    worker = Worker("config", "platform-delayed", "default", _env()).wait_ready(app)
    try:
        low, high = sizes.delayed_spread
        for _ in range(sizes.delayed):
            noop.apply_async(countdown=random.uniform(low, high))
        deadline = time.monotonic() + high + 60
        while Job.objects.filter(status=JobStatus.COMPLETED).count() < sizes.delayed:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        late = [
            (job.started_at - job.scheduled_for).total_seconds()
            for job in Job.objects.filter(status=JobStatus.COMPLETED)
        ]
        report.check(
            len(late) == sizes.delayed, f"delayed: {len(late)} of {sizes.delayed} jobs completed"
        )
    finally:
        worker.stop()
    report.delayed(late, n=sizes.delayed)


# --- 5, 6: the apps' sweepers and the operator API -------------------------------------


def run_sweepers(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from bench.domain import run_sweepers as run

    run(report, sizes=sizes, runs=runs, warmup=warmup)


def run_operator(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from bench.domain import run_operator as run

    run(report, sizes=sizes, runs=runs, warmup=warmup)


# --- 7: the peers (RQ, Dramatiq, Procrastinate) ------------------------------------------


def run_peers(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from bench.peers import run_peers as run

    run(report, sizes=sizes, runs=runs, warmup=warmup)


# --- 8: a job's ledger statements, without worker or broker --------------------------------


def run_statements(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from bench.statements import run_statements as run

    run(report, sizes=sizes, runs=runs, warmup=warmup)


# --- 9-12: configurations, I/O-bound jobs, more workers, a growing ledger -------------------


def run_peers_best(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from bench.configurations import run_peers_best as run

    run(report, sizes=sizes, runs=runs, warmup=warmup)


def run_io_bound(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from bench.configurations import run_io_bound as run

    run(report, sizes=sizes, runs=runs, warmup=warmup)


def run_workers(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from bench.workers import run_workers as run

    run(report, sizes=sizes, runs=runs, warmup=warmup)


def run_growth(report, *, sizes: Sizes, runs: int, warmup: bool) -> None:
    from bench.growth import run_growth as run

    run(report, sizes=sizes, runs=runs, warmup=warmup)
