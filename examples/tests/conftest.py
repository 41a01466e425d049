import pytest

from examples.queues import QUEUE_NAMES

SMTP_DOWN = "examples.tests.email_backends.SmtpDownBackend"


@pytest.fixture
def examples_worker(start_worker):
    """A real Celery worker for every example queue; its mail lands in ``worker_mailbox``."""
    return start_worker(name="examples", queues=QUEUE_NAMES, concurrency=2)


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = SMTP_DOWN
    return settings
