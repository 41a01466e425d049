"""RQ jobs: plain functions, enqueued by reference (`bench.peers_apps.rq_tasks.noop`)."""

import time

import redis

from bench.peers_apps import LATENCY_KEY, REDIS_URL, STAMP_KEY

_redis = redis.Redis.from_url(REDIS_URL)


def noop():
    return None


def stamp():
    _redis.set(STAMP_KEY, time.time(), nx=True)


def probe(sent_at: float):
    _redis.rpush(LATENCY_KEY, time.time() - sent_at)


def wait(ms: float):
    """The I/O-bound scenario's job: a wait standing for a network call."""
    time.sleep(ms / 1000)
