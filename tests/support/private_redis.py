"""A private redis-server per test, for tests that stop and restart the broker."""

import socket
import subprocess
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self, directory: Path, password: str | None = None):
        self.port = free_port()
        self.directory = directory
        self.password = password
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        directory.mkdir(parents=True, exist_ok=True)

    def start(self) -> "PrivateRedis":
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
                *(["--requirepass", self.password] if self.password else []),
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise TimeoutError("private redis did not start")

    def stop(self) -> None:
        """Stop without saving: a restart comes back empty, as after a crash."""
        with suppress(redis.ConnectionError):
            redis.Redis.from_url(self.url).shutdown(nosave=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                time.sleep(0.05)
            except redis.ConnectionError:
                return


@contextmanager
def broker_at(url: str):
    """Point this (test) process's Celery app and Redis helpers at another broker."""
    from celery import current_app
    from django.test import override_settings

    def reset_pools():
        from kombu import pools

        from jobs.ledger import broker

        pools.reset()  # kombu's process-wide producer pools, keyed by connection
        broker.reset_connection()  # the ledger publisher's own held connection
        current_app._pool = None
        current_app.amqp._producer_pool = None

    previous = current_app.conf.broker_url
    with override_settings(CELERY_BROKER_URL=url, REDIS_URL=url):
        current_app.conf.broker_url = url
        reset_pools()
        try:
            yield
        finally:
            current_app.conf.broker_url = previous
            reset_pools()
