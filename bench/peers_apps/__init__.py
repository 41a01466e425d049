"""Task modules for the peer queues (scenario 7), imported by their worker subprocesses.

Every module has the same tasks: `noop` (the drain and enqueue job), `stamp` (the
first job of a drain: records when the first job started, which starts the clock),
`probe` (latency: records enqueue → start into the Redis list `bench:latency`) and `wait`
(the I/O-bound scenario: sleeps the given milliseconds).
"""

import os

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/durable_jobs_bench"
)
STAMP_KEY = "bench:peers:first-start"
LATENCY_KEY = "bench:latency"
