"""Platform-side bench tasks, loaded with `-I bench.platform_tasks`: the latency probe and
the I/O-bound scenario's wait (a sleep standing for a network call)."""

import time

import redis
from django.conf import settings

from jobs import job_task

_redis = None


@job_task(name="bench.platform.probe")
def probe(sent_at: float):
    global _redis
    started = time.time()
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    _redis.rpush("bench:latency", started - sent_at)


@job_task(name="bench.platform.wait")
def wait(ms: float):
    time.sleep(ms / 1000)
