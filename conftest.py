"""Fixtures shared by every test: real Celery worker processes against the test database."""

import os

import pytest

pytest_plugins = ["tests.fixtures.workers"]


@pytest.fixture(autouse=True)
def _fresh_redis():
    """Each test starts with an empty Redis database of its own (REDIS_URL's db)."""
    from jobs.ledger.broker import redis_client

    redis_client().flushdb()
    yield


@pytest.fixture
def mailoutbox_cleared(mailoutbox):
    mailoutbox.clear()
    return mailoutbox


def pytest_report_header(config):
    return [
        f"DATABASE_URL={os.environ.get('DATABASE_URL', '(test settings default)')}",
        f"REDIS_URL={os.environ.get('REDIS_URL', '(test settings default)')}",
    ]
