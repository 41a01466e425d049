"""Raw Celery, no Django, no ledger: the baseline the platform is measured against.

BENCH_RAW_MODE=reliable: acks_late, reject_on_worker_lost, prefetch 1 (the platform's own
reliability settings). BENCH_RAW_MODE=fast: Celery's defaults (early ack, prefetch 4).
Neither stores results.
"""

import os
import time

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
