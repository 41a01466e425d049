"""Scenario 12: the cost as the work grows.

12a. The same no-op drain, enqueue → start latency and operator requests on a ledger that
     already holds 0, 1M and 10M finished jobs (90 % completed, 10 % failed, over four
     queues), seeded with one INSERT ... SELECT generate_series and then VACUUM ANALYZE
     (the state autovacuum keeps a table in; this machine's PostgreSQL runs with it off).
     The seeded ids are time-ordered like the platform's own (UUIDv7), so the seed appends
     to the primary key as production inserts do.
12b. A worker's resident memory (the RSS of its main and pool processes, from /proc) after
     a warm-up and then as it runs many more jobs: growth after the warm-up would be a leak.
"""

import time

from django.db import connection

from bench import drains
from bench.domain import load_ledger
from bench.harness import Worker, percentile, process_group_rss

TARGET_MS = 100


def _sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def seed_finished(rows: int) -> float:
    """Replace the ledger with `rows` finished jobs; returns the seconds it took (the
    finished-job counts recounted once after the load, bench.domain.load_ledger)."""
    started = time.perf_counter()
    _sql("TRUNCATE jobs_job, jobs_jobattempt")  # empties the finished-job counts too
    if rows:
        # Ids: a UUIDv7 layout (48-bit millisecond time, version 7, variant 10) with the
        # time running from three days ago, one millisecond per row, like created_at.
        load_ledger(
            "INSERT INTO jobs_job (id, task, args, kwargs, queue, priority, status, attempts,"
            " max_attempts, progress, progress_message, error, traceback, worker, crash_count,"
            " needs_publish, created_at, scheduled_for, started_at, finished_at)"
            " SELECT (lpad(to_hex(t.ms), 12, '0') || '7000' || '8000'"
            "         || lpad(to_hex(g), 12, '0'))::uuid,"
            " 'jobs.noop', '[]', '{}',"
            " (ARRAY['default','waitlist.holds','waitlist.cascade','tickets.expiry'])[1 + g %% 4],"
            " 1 + g %% 5,"
            " CASE WHEN g %% 10 = 7 THEN 'failed' ELSE 'completed' END,"
            " 1, 1, 100, '', CASE WHEN g %% 10 = 7 THEN 'Boom' ELSE '' END, '', '', 0, false,"
            " to_timestamp(t.ms / 1000.0), to_timestamp(t.ms / 1000.0),"
            " to_timestamp(t.ms / 1000.0), to_timestamp(t.ms / 1000.0 + 0.05)"
            " FROM generate_series(1, %s) g,"
            " LATERAL (SELECT (extract(epoch FROM now() - interval '3 days') * 1000)::bigint + g"
            "          AS ms) t",
            [rows],
        )
    _sql("VACUUM ANALYZE jobs_job")
    return time.perf_counter() - started


def _latency(worker: Worker, n: int, warmup: bool) -> list[float]:
    """Enqueue → start of n sequential probes on the idle, booted worker."""
    from bench.platform_tasks import probe
    from bench.scenarios import _latency, _platform_app, _redis

    app = _platform_app()
    _redis().flushdb()
    app.control.add_consumer("default", destination=[worker.name], reply=True)
    try:
        if warmup:
            _latency(lambda t: probe.delay(t), 20, worker)
        return _latency(lambda t: probe.delay(t), n, worker)
    finally:
        app.control.cancel_consumer("default", destination=[worker.name], reply=True)


def _operator(report, requests: int, warmup: bool) -> dict[str, list[float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings

    from bench.domain import _time_requests

    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    urls = {
        "metrics": "/api/jobs/metrics",
        "failed": "/api/jobs/queues/default/jobs?status=failed&limit=50",
    }
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        return {
            key: _time_requests(report, client, url, requests=requests, warmup=warmup)
            for key, url in urls.items()
        }


def _size(table: str) -> str:
    return _sql("SELECT pg_size_pretty(pg_total_relation_size(%s))", [table])[0][0]


def run_growth(report, *, sizes, runs: int, warmup: bool) -> None:
    kept: list[Worker] = []  # the last size's worker, for 12b
    try:
        _run_sizes(report, sizes=sizes, runs=runs, warmup=warmup, kept=kept)
    finally:
        for worker in kept:
            worker.stop()


def _run_sizes(report, *, sizes, runs: int, warmup: bool, kept: list) -> None:
    rows = []
    reference: dict[str, float] = {}
    big = {}
    for ledger_rows in sizes.growth_rows:
        seeded = seed_finished(ledger_rows)
        table = _size("jobs_job")
        # One worker per size for the drains and the latency probes, and the last one goes
        # on to 12b: worker boots are most of a smoke run's time.
        workers = drains.platform_workers()
        try:
            drain = drains.interleaved(
                {
                    "drain": lambda workers=workers: (
                        *drains.platform(sizes.drain, truncate=False, workers=workers),
                        sizes.drain,
                    )
                },
                runs=runs,
                warmup=warmup,
                report=report,
                what=f"growth at {ledger_rows:,} rows",
            )["drain"]
            latency = _latency(workers[0], sizes.latency, warmup)
        finally:
            if ledger_rows == sizes.growth_rows[-1]:
                kept.extend(workers)  # stopped by run_growth, after 12b
            else:
                for worker in workers:
                    worker.stop()
        requests = _operator(report, sizes.operator_requests, warmup)
        p50 = {key: percentile(values, 50) for key, values in requests.items()}
        reference.setdefault("drain", drain.median)
        reference.setdefault("latency", percentile(latency, 50))
        big = {"rows": ledger_rows, **p50}
        rows.append(
            [
                f"{ledger_rows:,}",
                f"{seeded:.1f}",
                table,
                f"{drain.median:,.0f}",
                f"{drain.median / reference['drain']:.2f}x",
                f"{percentile(latency, 50):.2f}",
                f"{percentile(latency, 99):.2f}",
                f"{percentile(latency, 50) / reference['latency']:.2f}x",
                f"{p50['metrics']:.0f}",
                f"{p50['failed']:.0f}",
            ]
        )
    verdicts = ", ".join(
        f"{name} {big[key]:.0f} ms — {'met' if big[key] <= TARGET_MS else '**missed**'}"
        for key, name in (("metrics", "/api/jobs/metrics"), ("failed", "failed-jobs list"))
    )
    report.add_section(
        "12a. Cost as the work grows: drain, latency and operator requests with finished "
        "jobs already in the ledger",
        [
            "finished rows",
            "seed + VACUUM ANALYZE (s)",
            "jobs_job size",
            "drain jobs/s",
            f"drain vs {sizes.growth_rows[0]:,} rows",
            "latency p50 (ms)",
            "latency p99 (ms)",
            f"p50 vs {sizes.growth_rows[0]:,} rows",
            "GET /api/jobs/metrics p50 (ms)",
            "failed-jobs list p50 (ms)",
        ],
        rows,
        [
            f"Drain: {sizes.drain:,} no-op jobs, prefork -c 2 ({runs} run(s) at each size, the "
            f"ledger reseeded between sizes). Latency: {sizes.latency} sequential probes on an "
            f"idle worker. Requests: {sizes.operator_requests} each, caches cleared, the "
            "failed-jobs list is `/api/jobs/queues/default/jobs?status=failed&limit=50`. "
            f"Target p50 ≤ {TARGET_MS} ms at {big.get('rows', 0):,} rows: {verdicts}."
        ],
    )
    _memory(report, kept[0], sizes=sizes)


# --- 12b. resident memory ------------------------------------------------------------------


def _drain_in_chunks(n: int, worker: Worker, chunk: int = 5_000) -> None:
    from jobs import JobSpec, enqueue_many
    from jobs.models import Job, JobStatus

    live = Job.objects.filter(queue="default", status__in=[JobStatus.WAITING, JobStatus.ACTIVE])
    for start in range(0, n, chunk):
        for batch in range(start, min(n, start + chunk), 1000):
            enqueue_many(JobSpec(task="jobs.noop") for _ in range(batch, min(n, batch + 1000)))
        deadline = time.monotonic() + max(300, chunk / 5)
        while live.exists():
            if worker.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"memory: worker stopped draining; see {worker.log_path}")
            time.sleep(0.1)


def _memory(report, worker: Worker, *, sizes) -> None:
    """On a booted platform worker (scenario 12a's last)."""
    from bench.scenarios import _platform_app
    from jobs.models import Job, JobStatus

    try:
        # The ledger only: flushing Redis under the running worker would tell it the
        # broker's data was lost, it would publish every waiting job again, and 12b would
        # measure duplicate messages as well as jobs.
        _sql("TRUNCATE jobs_job, jobs_jobattempt")
        _platform_app().control.add_consumer("default", destination=[worker.name], reply=True)
        checkpoints = [("after warm-up", sizes.rss_warmup)]
        step = sizes.rss_jobs // 4
        checkpoints += [(f"after {sizes.rss_warmup + step * i:,} jobs", step) for i in range(1, 5)]
        readings = []
        for label, jobs in checkpoints:
            _drain_in_chunks(jobs, worker)
            time.sleep(0.5)  # let the pool processes settle after their last job
            readings.append((label, sorted(process_group_rss(worker.proc.pid), reverse=True)))
    finally:
        worker.stop()
    total = sizes.rss_warmup + step * 4
    done = Job.objects.filter(status=JobStatus.COMPLETED).count()
    report.check(done == total, f"memory: {done} of {total} jobs completed")
    warm = sum(readings[0][1])
    rows = [
        [
            label,
            f"{sum(rss) / 2**20:.1f}",
            " / ".join(f"{r / 2**20:.1f}" for r in rss),
            f"{(sum(rss) - warm) / 2**20:+.1f}",
        ]
        for label, rss in readings
    ]
    growth = (sum(readings[-1][1]) - warm) / 2**20
    report.add_section(
        f"12b. Worker resident memory over {total:,} no-op jobs (prefork -c 2, MiB)",
        ["when", "RSS, all processes", "per process (largest first)", "vs after warm-up"],
        rows,
        [
            f"The worker of 12a's last row (already warm), then {sizes.rss_warmup:,} more "
            "jobs as the warm-up. RSS of the worker's main process "
            "and its pool processes (VmRSS from /proc; pages shared after the fork count in "
            f"each). Goal: no growth after the warm-up — {growth:+.1f} MiB over "
            f"{total - sizes.rss_warmup:,} jobs."
        ],
    )
