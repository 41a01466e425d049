"""Procrastinate tasks on the benchmark PostgreSQL database, in their own schema.

`procrastinate --app=bench.peers_apps.procrastinate_app.app worker`. The connection's
search_path is the `procrastinate` schema, so its tables, types and functions stay out of
the platform's `public` schema.
"""

import time

import procrastinate
import psycopg.conninfo
import redis

from bench.peers_apps import DATABASE_URL, LATENCY_KEY, REDIS_URL, STAMP_KEY

SCHEMA = "procrastinate"
QUEUE = "bench"
CONNINFO = psycopg.conninfo.make_conninfo(DATABASE_URL, options=f"-c search_path={SCHEMA}")

_redis = redis.Redis.from_url(REDIS_URL)

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=CONNINFO))


@app.task(name="bench.peers.noop", queue=QUEUE)
def noop():
    return None


@app.task(name="bench.peers.stamp", queue=QUEUE)
def stamp():
    _redis.set(STAMP_KEY, time.time(), nx=True)


@app.task(name="bench.peers.probe", queue=QUEUE)
def probe(sent_at: float):
    _redis.rpush(LATENCY_KEY, time.time() - sent_at)


@app.task(name="bench.peers.wait", queue=QUEUE)
def wait(ms: float):
    """The I/O-bound scenario's job: a wait standing for a network call."""
    time.sleep(ms / 1000)
