"""Dramatiq actors on the Redis broker: `dramatiq bench.peers_apps.dramatiq_app`.

Dramatiq stores nothing about a processed message, so a small middleware counts the
messages each worker process completed without error and adds the count to a Redis key
when the process shuts down: every job completed is checked without a per-job write.
"""

import threading
import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from bench.peers_apps import LATENCY_KEY, REDIS_URL, STAMP_KEY

COMPLETED_KEY = "bench:peers:dramatiq:completed"
QUEUE = "bench"

_redis = redis.Redis.from_url(REDIS_URL)


class CountCompleted(Middleware):
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None:
            with self.lock:
                self.count += 1

    def after_worker_shutdown(self, broker, worker):
        if self.count:
            _redis.incrby(COMPLETED_KEY, self.count)


broker = RedisBroker(url=REDIS_URL)
broker.add_middleware(CountCompleted())
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def noop():
    return None


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def stamp():
    _redis.set(STAMP_KEY, time.time(), nx=True)


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def probe(sent_at: float):
    _redis.rpush(LATENCY_KEY, time.time() - sent_at)


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def wait(ms: float):
    """The I/O-bound scenario's job: a wait standing for a network call."""
    time.sleep(ms / 1000)
