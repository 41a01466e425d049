"""Scenario 8: what a job's two ledger statements cost, and how much of it is the commit.

One process claims and finishes pre-enqueued jobs back to back, with no worker and no
broker in the way, so the figure is the database's share of a job alone. Three variants,
interleaved run by run:

- unprepared: Django's default client-side binding (``JOBS_DB_PREPARED_STATEMENTS=false``);
- prepared: what the platform does (the claim commits without waiting for the disk, the
  finish waits: jobs/ledger/sql.py CLAIM_ASYNC_COMMIT);
- prepared, ``synchronous_commit=off``: not something the platform does (a database crash
  could then forget a finish); it shows how much of a job's database time is the finish
  waiting for its commit to reach the disk.
"""

import time
from contextlib import contextmanager

from django.db import connection

from bench.harness import Measurement, process_cpu_seconds

VARIANTS = {
    "unprepared (client-side binding)": (False, "on"),
    "prepared (the platform's default)": (True, "on"),
    "prepared, synchronous_commit=off (context only)": (True, "off"),
}


@contextmanager
def _connection(*, prepared: bool, synchronous_commit: str):
    """A fresh connection made as the settings would with prepared statements on or off."""
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    if not prepared:
        options.pop("prepare_threshold", None)
    connection.close()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SET synchronous_commit = {synchronous_commit}")
        yield
    finally:
        connection.close()
        options.clear()
        options.update(saved)


def _claim_and_finish(n: int, *, prepared: bool, synchronous_commit: str) -> dict[str, float]:
    """Per job, for claim + finish of n waiting jobs: the wall time of both and of each
    (µs), and the CPU the PostgreSQL backend and this process spent on them (µs)."""
    from bench.scenarios import _reset
    from jobs import JobSpec, enqueue_many
    from jobs.ledger import attempts

    _reset()
    ids = []
    for start in range(0, n, 1000):
        batch = enqueue_many(JobSpec(task="jobs.noop") for _ in range(start, min(n, start + 1000)))
        ids.extend(str(job.id) for job in batch)
    clock = time.perf_counter
    with _connection(prepared=prepared, synchronous_commit=synchronous_commit):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        server, client = process_cpu_seconds(backend), time.process_time()
        claiming = finishing = 0.0
        started = clock()
        for job_id in ids:
            t0 = clock()
            claim = attempts.job_claim(job_id=job_id, worker="bench@statements")
            t1 = clock()
            attempts.job_complete(claim=claim, result=None)
            claiming, finishing = claiming + t1 - t0, finishing + clock() - t1
        total = clock() - started
        server, client = process_cpu_seconds(backend) - server, time.process_time() - client
    return {
        "total": total / n * 1e6,
        "claim": claiming / n * 1e6,
        "finish": finishing / n * 1e6,
        "server_cpu": server / n * 1e6,
        "client_cpu": client / n * 1e6,
    }


def run_statements(report, *, sizes, runs: int, warmup: bool) -> None:
    from jobs.models import Job, JobStatus

    n = max(sizes.drain // 4, 100)
    if warmup:
        _claim_and_finish(n // 5, prepared=True, synchronous_commit="on")
    results = {name: Measurement() for name in VARIANTS}
    for _ in range(runs):
        for name, (prepared, synchronous_commit) in VARIANTS.items():
            parts = _claim_and_finish(n, prepared=prepared, synchronous_commit=synchronous_commit)
            results[name].add(parts.pop("total"), **parts)
            done = Job.objects.filter(status=JobStatus.COMPLETED).count()
            report.check(done == n, f"statements: {name} finished {done} of {n} jobs")
    baseline = results["unprepared (client-side binding)"].median
    rows = [
        [
            name,
            f"{m.median:,.0f}",
            m.spread(),
            f"{m.median / baseline:.2f}x",
            f"{m.extra_median('claim'):,.0f}",
            f"{m.extra_median('finish'):,.0f}",
            f"{m.extra_median('server_cpu'):,.0f}",
            f"{m.extra_median('client_cpu'):,.0f}",
        ]
        for name, m in results.items()
    ]
    report.add_section(
        f"8. A job's two ledger statements (claim, finish), {n:,} jobs back to back in one "
        "process (µs per job)",
        [
            "variant",
            "µs/job (median)",
            "spread",
            "vs unprepared",
            "claim",
            "finish",
            "PostgreSQL CPU",
            "client CPU",
        ],
        rows,
        [
            "No worker and no broker: the database's share of a job alone. The platform's "
            "claim commits without waiting for the disk (a lost claim only returns the job "
            "to waiting); the difference between the last two rows is the time the finish "
            "waits for the disk, which the platform pays to keep every outcome durable.",
            "Claim and finish: wall time of each statement, round trip and commit included. "
            "PostgreSQL CPU: the backend's user and system time per job (/proc); client CPU: "
            "this process's (Django's connection, psycopg, the ledger's Python). What is "
            "left of the wall time is waiting: the network stack's wake-ups and, for the "
            "finish, the disk.",
        ],
    )
