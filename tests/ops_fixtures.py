"""Fixtures and helpers shared by the operations tests (admin API, alerts, metrics, ws).

Import the fixtures into a test module with ``from tests.ops_fixtures import *``.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from jobs.models import Job, JobStatus
from tests.support.waiting import wait_for  # noqa: F401 (re-exported)

__all__ = [
    "staff_user",
    "plain_user",
    "staff_api",
    "plain_api",
    "anon_api",
    "access_token",
    "make_job",
    "make_jobs",
    "wait_for",
]


def access_token(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "operator", "operator@example.com", "operator-password", is_staff=True
    )


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("customer", "c@example.com", "customer-password")


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    return client


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return _client(staff_user)


@pytest.fixture
def plain_api(plain_user) -> APIClient:
    return _client(plain_user)


@pytest.fixture
def anon_api() -> APIClient:
    return _client()


def make_job(
    *,
    status: str = JobStatus.WAITING,
    queue: str = "default",
    task: str = "jobs.noop",
    run_ms: float | None = None,
    finished_ago: timedelta = timedelta(minutes=5),
    **fields,
) -> Job:
    """A ledger row in any state, written directly (no broker message)."""
    now = timezone.now()
    values = {
        "task": task,
        "queue": queue,
        "status": status,
        "created_at": now - finished_ago - timedelta(seconds=10),
        "scheduled_for": now - finished_ago - timedelta(seconds=10),
    }
    if status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
        finished = now - finished_ago
        values["finished_at"] = finished
        values["started_at"] = finished - timedelta(milliseconds=run_ms or 100)
        values["attempts"] = 1
    if status == JobStatus.ACTIVE:
        values["started_at"] = now
        values["attempts"] = 1
    if status == JobStatus.DELAYED:
        values["scheduled_for"] = now + timedelta(hours=1)
    values.update(fields)
    return Job.objects.create(**values)


def make_jobs(n: int, **kwargs) -> list[Job]:
    return [make_job(**kwargs) for _ in range(n)]
