"""Fixtures of the platform's tests: a staff operator and a plain customer, and API clients
for each (and for nobody). pytest finds them here for every test under ``jobs/tests/``.

Helpers that are not fixtures: ``tests.support.ledger_rows`` (``make_job``, ``make_jobs``),
``tests.support.auth`` (``access_token``), ``tests.support.waiting`` (``wait_for``).
"""

import pytest
from rest_framework.test import APIClient

from tests.support.auth import jwt_client


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "operator", "operator@example.com", "operator-password", is_staff=True
    )


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("customer", "c@example.com", "customer-password")


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return jwt_client(staff_user)


@pytest.fixture
def plain_api(plain_user) -> APIClient:
    return jwt_client(plain_user)


@pytest.fixture
def anon_api() -> APIClient:
    return jwt_client()
