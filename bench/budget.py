"""Scenario "budget": where a drained job's time goes, platform against raw Celery.

A drain of pre-enqueued no-op jobs (prefork -c 2, as scenario 1) runs under py-spy, which
samples every process of the worker (main and pool processes, idle threads included). Each
sample is put in one bucket by the frames on its stack, and the buckets are turned into
microseconds per job (samples / rate / jobs). Needs ``py-spy``: ``make bench`` installs it
with the peers (or put it on PATH, or name it in ``PY_SPY``); without it the scenario says
so and records nothing.

Buckets, first match wins (a pool process's stack, then the main process's):

- claim / finish: the ledger's two statements (``job_claim``, ``job_complete``), the
  database round trip and its commit included;
- run: the task body;
- platform Python: the rest of ``LedgerTask`` (``jobs/`` frames);
- Celery in the pool process: the rest of a pool process's work (tracer, result, pipes);
- pool process idle: waiting for the next job from the main process;
- Redis: the main process talking to Redis (kombu's Redis transport, redis-py), ack
  included (an ack is a Redis call);
- Celery in the main process: the rest of it (strategy, request, pool bookkeeping);
- main process idle: its event loop waiting;
- background threads: heartbeats and the maintenance cycle (stager, sweeps).

It also counts the WAL syncs a claim and a finish cause (``pg_stat_wal.wal_sync``, which is
server-wide: other databases' commits add to it, so it is context, not a test).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

RATE = 250  # samples per second per process
POOL_WORK = ["claim", "finish", "run", "platform Python", "Celery in the pool process"]
MAIN_WORK = ["Redis", "Celery in the main process", "background threads"]
BUCKETS = [
    *POOL_WORK,
    "pool process idle",
    *MAIN_WORK,
    "main process idle",
]


def _py_spy() -> str | None:
    # `make bench` installs it into the virtualenv, whose bin/ need not be on PATH.
    beside = Path(sys.executable).parent / "py-spy"
    return (
        os.environ.get("PY_SPY")
        or shutil.which("py-spy")
        or (str(beside) if beside.exists() else None)
    )


def _pool_bucket(stack: str) -> str:
    if "job_claim (" in stack:
        return "claim"
    if "job_complete (" in stack:
        return "finish"
    if "noop (jobs/tasks.py" in stack or "noop (bench/raw_app.py" in stack:
        return "run"
    if "(jobs/" in stack:
        return "platform Python"
    leaf = stack.rsplit(";", 1)[-1]
    if any(word in leaf for word in ("poll (", "_recv (", "recv (", "wait (", "select (")):
        return "pool process idle"
    return "Celery in the pool process"


def _main_bucket(stack: str) -> str:
    leaf = stack.rsplit(";", 1)[-1]
    if "hub.py" in leaf or "poll (" in leaf or "select (" in leaf:
        return "main process idle"
    if "kombu/transport/redis" in stack or "/redis/" in stack:
        return "Redis"
    return "Celery in the main process"


_WAITING = ("wait (", "poll (", "select (", "_recv (", "recv (", "sleep (", "epoll")


def _seconds_per_bucket(raw: Path, *, main: bool, recorded: float) -> Counter:
    """Process-seconds per bucket of one process's recording (py-spy --threads: each
    stack starts with its thread). py-spy may fall behind its rate on a busy machine, so
    each thread's samples are scaled by the rate it actually kept. A thread of the
    platform or of Celery running beside the process's main thread (heartbeat,
    maintenance cycle, timers) counts only while it works, as "background threads"."""
    per_thread: dict[str, Counter] = {}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        thread, _, stack = stack.partition(";") if stack.startswith("thread (") else ("", "", stack)
        if "_bootstrap (threading.py" in stack or "Thread.run (" in stack:
            leaf = stack.rsplit(";", 1)[-1]
            bucket = "idle" if any(w in leaf for w in _WAITING) else "background threads"
        else:
            bucket = _main_bucket(stack) if main else _pool_bucket(stack)
        per_thread.setdefault(thread, Counter())[bucket] += int(n)
    seconds: Counter = Counter()
    for counts in per_thread.values():
        rate = sum(counts.values()) / recorded
        for bucket, n in counts.items():
            if bucket != "idle":
                seconds[bucket] += n / rate
    return seconds


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def _profiled_drain(py_spy: str, n: int, *, platform: bool) -> tuple[Counter, float]:
    """A drain of n jobs under py-spy: (samples per bucket, seconds)."""
    from django.db import connection

    from bench import scenarios
    from bench.harness import Worker
    from jobs import JobSpec, enqueue_many
    from jobs.models import Job, JobStatus

    redis = scenarios._redis()
    if platform:
        scenarios._reset()
        app = scenarios._platform_app()
        worker = Worker(
            "config",
            "budget-platform",
            "jobs.maintenance",
            scenarios._env(JOBS_DISPATCH_INTERVAL=0.2),
        ).wait_ready(app)
        queue = "default"
        for start in range(0, n, 1000):
            enqueue_many(JobSpec(task="jobs.noop") for _ in range(start, min(n, start + 1000)))

        def done() -> bool:
            return Job.objects.filter(status=JobStatus.COMPLETED).count() >= n
    else:
        raw = scenarios._raw_app("reliable")
        app = raw.app
        redis.flushdb()
        worker = Worker(
            "bench.raw_app", "budget-raw", "bench.idle", scenarios._env(BENCH_RAW_MODE="reliable")
        ).wait_ready(app)
        queue = "bench.drain"
        with app.producer_or_acquire() as producer, producer.batch():
            for _ in range(n):
                raw.noop.apply_async(queue=queue, producer=producer)

        def done() -> bool:
            return not (redis.llen(queue) or redis.hlen("unacked"))

    # One py-spy per process: its --subprocesses misses Celery's forked pool processes.
    folder = Path(tempfile.mkdtemp())
    pids = [worker.proc.pid, *_children(worker.proc.pid)]
    recording = time.perf_counter()
    spies = [
        subprocess.Popen(
            [py_spy, "record", "--pid", str(pid), "--idle", "--threads", "--nonblocking"]
            + ["--rate", str(RATE), "--format", "raw", "-o", str(folder / f"{pid}.raw")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    try:
        time.sleep(1.0)  # py-spy attached to every process
        t0 = time.perf_counter()
        app.control.add_consumer(queue, destination=[worker.name], reply=True)
        while not done():
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        recorded = time.perf_counter() - recording
        for spy in spies:
            spy.wait(60)
    finally:
        for spy in spies:
            if spy.poll() is None:
                spy.kill()
        worker.stop()
        connection.close()
    seconds: Counter = Counter()
    for pid in pids:
        seconds += _seconds_per_bucket(
            folder / f"{pid}.raw", main=pid == worker.proc.pid, recorded=recorded
        )
    # The idle buckets also hold the second before the drain and the moments after it:
    # what the drain left idle is its wall time less the work, per kind of process.
    pool_busy = sum(seconds[b] for b in POOL_WORK)
    main_busy = sum(seconds[b] for b in MAIN_WORK)
    seconds["pool process idle"] = max(0.0, 2 * elapsed - pool_busy)
    seconds["main process idle"] = max(0.0, elapsed - main_busy)
    return seconds, elapsed


def _wal_syncs(k: int) -> tuple[float, float]:
    """WAL syncs per claim and per finish over k jobs (server-wide counter)."""
    from django.db import connection

    from bench import scenarios
    from jobs import JobSpec, enqueue_many
    from jobs.ledger import attempts

    scenarios._reset()
    ids = [str(job.id) for job in enqueue_many(JobSpec(task="jobs.noop") for _ in range(k))]

    def syncs() -> int:
        # A backend reports its WAL counters when it has been idle for a second (at most
        # once a second otherwise): wait for this connection's to be in.
        time.sleep(2.0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT wal_sync FROM pg_stat_wal")
            return cursor.fetchone()[0]

    before = syncs()
    claims = [attempts.job_claim(job_id=job_id, worker="bench@budget") for job_id in ids]
    after_claims = syncs()
    for claim in claims:
        attempts.job_complete(claim=claim, result=None)
    after_finishes = syncs()
    return (after_claims - before) / k, (after_finishes - after_claims) / k


def _delay_budget(n: int) -> dict[str, float]:
    """µs per ``.delay()`` call, platform and raw Celery, and the platform's parts, in this
    one process: the INSERT (autocommit, so its commit is in it) and the publish after it
    are timed by wrapping the functions that send them; the INSERT's wait for the disk is
    the difference to the same calls under ``synchronous_commit = off``."""
    from django.db import connection

    from bench import scenarios
    from jobs.ledger import broker, prepared
    from jobs.tasks import noop

    spent: Counter = Counter()

    def timed(module, name: str, bucket: str):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[bucket] += time.perf_counter() - started

        setattr(module, name, wrapper)
        return module, name, original

    def platform(synchronous: bool) -> float:
        scenarios._reset()
        with connection.cursor() as cursor:
            cursor.execute(f"SET synchronous_commit TO {'on' if synchronous else 'off'}")
        spent.clear()
        started = time.perf_counter()
        for _ in range(n):
            noop.delay()
        return time.perf_counter() - started

    wrapped = [timed(prepared, "execute", "insert"), timed(broker, "publish_or_flag", "publish")]
    try:
        platform(True)  # warm-up: prepared statements, connections
        total = platform(True)
        insert, publish = spent["insert"], spent["publish"]
        platform(False)
        insert_no_wait = spent["insert"]
    finally:
        for module, name, original in wrapped:
            setattr(module, name, original)
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
    raw = scenarios._raw_app("reliable")
    redis = scenarios._redis()
    redis.flushdb()
    for _ in range(min(n, 500)):
        raw.noop.delay()  # warm-up: kombu's connection and producer pool
    redis.flushdb()
    started = time.perf_counter()
    for _ in range(n):
        raw.noop.delay()
    raw_total = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(n):
        redis.lpush("bench.round-trip", "x")
    round_trip = time.perf_counter() - started
    redis.flushdb()
    us = 1e6 / n
    return {
        "raw": raw_total * us,
        "platform": total * us,
        "insert": insert * us,
        "disk": max(insert - insert_no_wait, 0.0) * us,
        "publish": publish * us,
        "python": (total - insert - publish) * us,
        "round trip": round_trip * us,
    }


def _report_delay_budget(report, n: int) -> None:
    b = _delay_budget(n)
    rows = [
        ["raw Celery `.delay()`: kombu's publish, one Redis round trip", f"{b['raw']:,.0f}"],
        ["platform `.delay()`", f"{b['platform']:,.0f}"],
        ["— the INSERT of the row, committed (autocommit)", f"{b['insert']:,.0f}"],
        ["  — of which waiting for the commit to reach the disk", f"{b['disk']:,.0f}"],
        ["— the publish after the commit: message built, one LPUSH", f"{b['publish']:,.0f}"],
        [
            "— Python: arguments checked, row and message built, Celery's apply_async",
            f"{b['python']:,.0f}",
        ],
        ["one bare Redis LPUSH round trip (reference)", f"{b['round trip']:,.0f}"],
    ]
    report.add_section(
        f"`.delay()` budget: {n:,} calls from one process, no worker (µs per call)",
        ["part", "µs per call"],
        rows,
        [
            f"The platform's call costs {b['platform'] - b['raw']:,.0f} µs more than raw "
            f"Celery's. The INSERT accounts for {b['insert']:,.0f} µs of it "
            f"({b['disk']:,.0f} waiting for the disk); the rest is the platform's Python "
            f"({b['python']:,.0f} µs) and its publish ({b['publish']:,.0f} µs) against "
            f"kombu's whole publish ({b['raw']:,.0f} µs)."
        ],
    )


def run_budget(report, *, sizes, runs: int, warmup: bool) -> None:
    _report_delay_budget(report, sizes.enqueue)
    py_spy = _py_spy()
    if py_spy is None:
        report.add_section(
            "Per-job budget", ["note"], [["py-spy not found (pip install py-spy): skipped"]]
        )
        return
    n = sizes.drain
    rows = []
    per_job: dict[str, dict[str, float]] = {}
    walls: dict[str, float] = {}
    for name, platform in (("platform", True), ("raw Celery, same reliability", False)):
        seconds, elapsed = _profiled_drain(py_spy, n, platform=platform)
        per_job[name] = {b: seconds[b] / n * 1e6 for b in BUCKETS}
        walls[name] = elapsed / n * 1e6
    for bucket in BUCKETS:
        rows.append([bucket] + [f"{per_job[name][bucket]:,.0f}" for name in per_job])
    rows.append(["wall time per job"] + [f"{walls[name]:,.0f}" for name in walls])
    claim_syncs, finish_syncs = _wal_syncs(max(n // 5, 1000))
    report.add_section(
        f"Per-job budget: {n:,} no-op jobs drained, prefork -c 2, sampled by py-spy (µs of "
        "process time per job)",
        ["bucket", *per_job],
        rows,
        [
            "The pool processes' rows (claim to pool process idle) add up to twice the wall "
            "time per job (two processes), the main process's (Redis to main process idle) "
            "to once it. Buckets are assigned by the frames on the stack (bench/budget.py).",
            f"WAL syncs (pg_stat_wal.wal_sync, server-wide) per claim: {claim_syncs:.2f}, "
            f"per finish: {finish_syncs:.2f}.",
        ],
    )
