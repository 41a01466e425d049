"""Raw Celery, no Django, no ledger: the baseline the platform is measured against.

BENCH_RAW_MODE=reliable: acks_late, reject_on_worker_lost, prefetch 1 (the platform's own
reliability settings). BENCH_RAW_MODE=fast: Celery's defaults (early ack, prefetch 4).
Neither stores results.

The ``ledger_*`` tasks are the control variants ("raw Celery + the ledger's statements"):
they run the platform's own claim and finish statements (their SQL text, from
jobs/ledger/sql.py, handed over in ``BENCH_LEDGER_SQL`` by the benchmark) by hand with
psycopg, prepared, on one connection per process, and nothing else of the platform. The
difference between them and raw Celery is what the ledger's statements cost; between them
and the platform, what the rest of the platform costs.
"""

import functools
import json
import os
import time
import uuid
from datetime import UTC, datetime

import redis
from celery import Celery

BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
MODE = os.environ.get("BENCH_RAW_MODE", "reliable")

# Not the current app: the benchmark process also enqueues platform jobs via `config`.
app = Celery("bench_raw", broker=BROKER, set_as_current=False)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    result_backend=None,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
if MODE == "reliable":
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1
    )

_redis = redis.Redis.from_url(BROKER)


@app.task(name="bench.raw.noop")
def noop(*args, **kwargs):
    return None


@app.task(name="bench.raw.wait")
def wait(ms: float):
    """The I/O-bound scenario's job: a wait standing for a network call."""
    time.sleep(ms / 1000)


@app.task(name="bench.raw.probe")
def probe(sent_at: float):
    """Records enqueue->start latency (the write happens after the start is measured)."""
    _redis.rpush("bench:latency", time.time() - sent_at)


_ledger: tuple[int, object] | None = None


def _ledger_connection():
    """This process's autocommit connection (a pool process's own, made after the fork)."""
    global _ledger
    if _ledger is None or _ledger[0] != os.getpid():
        import psycopg

        _ledger = (os.getpid(), psycopg.connect(os.environ["BENCH_LEDGER_DSN"], autocommit=True))
    return _ledger[1]


@functools.cache
def _ledger_sql() -> dict:
    return json.loads(os.environ["BENCH_LEDGER_SQL"])


def _ledger_claim(job_id: str) -> int:
    """The platform's claim statement (a waiting row to active); returns its attempts."""
    sql = _ledger_sql()
    row = (
        _ledger_connection()
        .execute(
            sql["claim"],
            ["active", datetime.now(UTC), "raw", False, uuid.UUID(job_id), "waiting", sql["all"]],
            prepare=True,
        )
        .fetchone()
    )
    if row is None:
        raise RuntimeError(f"job {job_id} could not be claimed")
    return row[0]


def _ledger_complete(job_id: str, attempts: int) -> None:
    """The platform's finish statement; it waits for the commit to reach the disk."""
    sql = _ledger_sql()
    _ledger_connection().execute(
        sql["complete"],
        ["completed", datetime.now(UTC), None, uuid.UUID(job_id), "active", attempts],
        prepare=True,
    )


@app.task(name="bench.raw.ledger_noop", bind=True)
def ledger_noop(self):
    attempts = _ledger_claim(self.request.id)
    _ledger_complete(self.request.id, attempts)


@app.task(name="bench.raw.ledger_probe", bind=True)
def ledger_probe(self, sent_at: float):
    attempts = _ledger_claim(self.request.id)
    _redis.rpush("bench:latency", time.time() - sent_at)
    _ledger_complete(self.request.id, attempts)
