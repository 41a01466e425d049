"""Fixtures every suite shares: real Celery worker processes against the test database, an
empty Redis database per test, and the mail the test process and the workers send.

One fixtures module per scope: this one for every suite; ``jobs/tests/conftest.py`` for the
platform's tests; ``waitlist/tests/conftest.py`` and ``tickets/tests/conftest.py`` for the
products'. Plain helpers (no fixtures) live in ``tests/support/``.
"""

import os

import pytest

from tests.support.processes import ALL_QUEUES, WorkerMailbox, WorkerProcess, worker_env
from tests.support.web_server import WebServer


@pytest.fixture(autouse=True)
def _fresh_redis():
    """Each test starts with an empty Redis database of its own (REDIS_URL's db)."""
    from jobs.ledger.broker import redis_client

    redis_client().flushdb()
    yield


# --- mail ------------------------------------------------------------------------------------
@pytest.fixture
def mailoutbox_cleared(mailoutbox):
    mailoutbox.clear()
    return mailoutbox


@pytest.fixture
def worker_mailbox(tmp_path) -> WorkerMailbox:
    """Mail sent by the worker processes of ``start_worker`` (Django's file email backend)."""
    return WorkerMailbox(tmp_path / "worker-mail")


# --- real Celery workers -----------------------------------------------------------------------
@pytest.fixture
def start_worker(transactional_db, worker_mailbox):
    """Factory: start_worker(name="w1", queues=[...], concurrency=2) -> ready WorkerProcess.

    Mail the workers send lands in ``worker_mailbox``. Every worker started is killed at the
    end of the test.
    """
    started: list[WorkerProcess] = []

    def start(name: str = "w1", queues: list[str] | None = None, wait: bool = True, **kwargs):
        kwargs.setdefault("env", worker_env(EMAIL_URL=f"filemail:///{worker_mailbox.directory}"))
        worker = WorkerProcess(name, queues or ALL_QUEUES, **kwargs)
        started.append(worker)
        return worker.wait_ready() if wait else worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def worker(start_worker):
    """A ready worker for all queues with two pool processes."""
    return start_worker()


# --- the web command, for browsers and real clients ------------------------------------------
@pytest.fixture(scope="session")
def web_command(django_db_setup, django_db_blocker):
    """The documented web command (uvicorn serving config.asgi) on the test database and test
    Redis, started once for the tests that drive it as a browser or a socket client does.
    Tests that cut its dependencies start their own (``tests/test_outages.py``)."""
    with django_db_blocker.unblock():
        server = WebServer(worker_env(), pool=False, name="web-command").wait_ready()
    yield server
    server.stop()


@pytest.fixture
def operator_credentials(django_user_model) -> tuple[str, str]:
    """A superuser's username and password, for logging in through the admin's own form."""
    django_user_model.objects.create_superuser("operator", "ops@example.com", "operator-pass")
    return ("operator", "operator-pass")


def pytest_report_header(config):
    return [
        f"DATABASE_URL={os.environ.get('DATABASE_URL', '(test settings default)')}",
        f"REDIS_URL={os.environ.get('REDIS_URL', '(test settings default)')}",
    ]
