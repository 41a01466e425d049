import pytest
from rest_framework.test import APIClient

from waitlist.tests.factories import MembershipFactory, TenantFactory

RECORDING_BACKEND = "waitlist.tests.email_backends.RecordingBackend"


@pytest.fixture
def tenant(db):
    return TenantFactory()


@pytest.fixture
def membership(tenant):
    return MembershipFactory(tenant=tenant)


@pytest.fixture
def staff_client(membership):
    """An API client authenticated as staff of ``tenant``."""
    client = APIClient()
    client.force_authenticate(membership.user)
    return client


@pytest.fixture
def recording_backend(settings):
    settings.WAITLIST_EMAIL_BACKEND = RECORDING_BACKEND
    return RECORDING_BACKEND
