"""Odd input never crashes the API (no 500s), and the API is rate limited."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from waitlist.tests.factories import HoldFactory, MembershipFactory, SlotFactory

pytestmark = [pytest.mark.django_db, pytest.mark.security]

ODD_VALUES = [None, "", "x" * 5000, -1, 0, 2**80, 1.5, True, [], {}, [1], {"a": 1}, "\x00", "１２"]

ENDPOINTS = {
    "slots": ["title", "starts_at"],
    "entries": ["name", "email", "phone", "channel", "priority", "slot"],
    "/api/jobs/expired-holds/trigger": ["tenant"],
    "/api/jobs/cascade/trigger": ["slot_id", "previous_entry_id", "reason"],
    "/api/jobs/notifications/retry": ["notification_id"],
    "/api/jobs/cleanup/trigger": ["retention_days"],
}
VALID = {
    "slots": {"title": "Table"},
    "entries": {"name": "Ann", "email": "ann@example.test"},
    "/api/jobs/cascade/trigger": {"reason": "declined"},
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_odd_values_in_any_field_answer_4xx_or_success_never_500(tenant, endpoint):
    # Platform staff and staff of the tenant: every endpoint is open to this user.
    client = APIClient()
    client.force_authenticate(MembershipFactory(tenant=tenant, user__is_staff=True).user)
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))
    url = (
        endpoint if endpoint.startswith("/") else f"/api/waitlist/tenants/{tenant.slug}/{endpoint}/"
    )
    base = dict(VALID.get(endpoint, {}))
    if endpoint.endswith("cascade/trigger"):
        base["slot_id"] = hold.slot_id

    for field in ENDPOINTS[endpoint]:
        for value in ODD_VALUES:
            response = client.post(url, {**base, field: value}, format="json")
            assert response.status_code in {200, 201, 202, 400, 403, 404, 409}, (
                field,
                value,
                response.status_code,
            )
            if response.status_code == 400:
                assert response.json(), (field, value)
    # Not JSON at all, or JSON that is not an object.
    for body in ["[1, 2]", '"text"', "null", "{"]:
        response = client.post(url, body, content_type="application/json")
        assert response.status_code in {400, 404}, (body, response.status_code)


def test_the_api_is_rate_limited_per_user(staff_client, tenant, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "rate", "3/minute", raising=False)
    url = f"/api/waitlist/tenants/{tenant.slug}/slots/"

    codes = [staff_client.get(url).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
