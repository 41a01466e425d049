"""The tenant-scoped REST API and the waitlist's job endpoints."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from waitlist.models import (
    EntryStatus,
    HoldStatus,
    NotificationStatus,
    SlotStatus,
    WaitlistEntry,
)
from waitlist.tests.factories import (
    PASSWORD,
    EntryFactory,
    HoldFactory,
    MembershipFactory,
    NotificationFactory,
    SlotFactory,
    TenantFactory,
    UserFactory,
)
from waitlist.tests.ledger import Job, enqueued

pytestmark = pytest.mark.django_db


def base(tenant) -> str:
    return f"/api/waitlist/tenants/{tenant.slug}"


# --- auth -----------------------------------------------------------------------------------
def test_jwt_token_gives_access_to_the_users_tenants(membership):
    client = APIClient()
    token = client.post(
        "/api/auth/token/",
        {"username": membership.user.username, "password": PASSWORD},
        format="json",
    ).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get("/api/waitlist/tenants/")

    assert response.status_code == 200
    assert [t["slug"] for t in response.json()["results"]] == [membership.tenant.slug]


def test_anonymous_requests_are_refused(tenant):
    client = APIClient()
    assert client.get(f"{base(tenant)}/slots/").status_code == 401
    assert client.post("/api/jobs/expired-holds/trigger", {}).status_code == 401


# --- slots ------------------------------------------------------------------------------------
def test_create_list_show_and_cancel_a_slot(staff_client, tenant):
    starts = timezone.now() + timedelta(days=1)
    created = staff_client.post(
        f"{base(tenant)}/slots/", {"title": "Table 4", "starts_at": starts.isoformat()}
    )
    assert created.status_code == 201, created.content
    slot = created.json()
    assert slot["status"] == "open" and slot["current_hold"] is None
    assert enqueued("waitlist.notification_cascade").get().kwargs["slot_id"] == slot["id"]

    listed = staff_client.get(f"{base(tenant)}/slots/", {"status": "open"}).json()
    assert [s["id"] for s in listed["results"]] == [slot["id"]]
    assert staff_client.get(f"{base(tenant)}/slots/{slot['id']}/").json()["title"] == "Table 4"

    cancelled = staff_client.post(f"{base(tenant)}/slots/{slot['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = staff_client.post(f"{base(tenant)}/slots/{slot['id']}/cancel/")
    assert again.status_code == 409
    assert "slot" in again.json()


def test_slot_detail_shows_its_live_hold(staff_client, tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))

    body = staff_client.get(f"{base(tenant)}/slots/{hold.slot_id}/").json()

    assert body["current_hold"]["id"] == hold.pk
    assert body["current_hold"]["seconds_left"] > 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "starts_at": "tomorrow"}, "starts_at"),
        ({"title": "ok", "starts_at": "2001-01-01T10:00:00Z"}, "starts_at"),
        ({"title": "nul\x00byte"}, "title"),
    ],
)
def test_bad_slot_input_answers_400_naming_the_field(staff_client, tenant, payload, field):
    response = staff_client.post(f"{base(tenant)}/slots/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_bad_filters_answer_400_naming_the_field(staff_client, tenant):
    assert "status" in staff_client.get(f"{base(tenant)}/slots/", {"status": "x"}).json()
    assert "slot" in staff_client.get(f"{base(tenant)}/entries/", {"slot": "-1"}).json()
    response = staff_client.get(f"{base(tenant)}/holds/", {"entry": str(10**30)})
    assert response.status_code == 400 and "entry" in response.json()


def test_malformed_json_answers_400(staff_client, tenant):
    response = staff_client.post(
        f"{base(tenant)}/slots/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


# --- entries ----------------------------------------------------------------------------------
def test_join_list_show_and_cancel_an_entry(staff_client, tenant):
    joined = staff_client.post(
        f"{base(tenant)}/entries/",
        {"name": "Ann", "email": "ann@example.test", "priority": 3},
        format="json",
    )
    assert joined.status_code == 201, joined.content
    entry = joined.json()
    assert entry["status"] == "waiting" and entry["priority"] == 3
    assert entry["holds"] == [] and entry["notifications"] == []

    listed = staff_client.get(f"{base(tenant)}/entries/", {"status": "waiting"}).json()
    assert [e["id"] for e in listed["results"]] == [entry["id"]]

    cancelled = staff_client.post(f"{base(tenant)}/entries/{entry['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_entry_detail_shows_its_hold_and_notification_history(staff_client, tenant):
    old = HoldFactory(slot=SlotFactory(tenant=tenant), status=HoldStatus.EXPIRED)
    NotificationFactory(hold=old, status=NotificationStatus.SENT)
    live = HoldFactory(slot=SlotFactory(tenant=tenant), entry=old.entry)

    body = staff_client.get(f"{base(tenant)}/entries/{old.entry_id}/").json()

    assert body["current_hold"]["id"] == live.pk
    assert sorted(h["id"] for h in body["holds"]) == sorted([old.pk, live.pk])
    assert [n["status"] for n in body["notifications"]] == ["sent"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "a@example.test"}, "name"),
        ({"name": "A"}, "email"),
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A", "email": "a@example.test", "priority": 1001}, "priority"),
        ({"name": "A", "email": "a@example.test", "priority": "high"}, "priority"),
        ({"name": "A", "email": "a@example.test", "channel": "pigeon"}, "channel"),
        ({"name": "A", "email": "a@example.test", "channel": "sms"}, "phone"),
        ({"name": "A", "email": "a@example.test", "slot": 0}, "slot"),
        ({"name": "A", "email": "a@example.test", "slot": 99999999}, "slot"),
        ({"name": "A", "email": "a@example.test", "slot": 2**70}, "slot"),
    ],
)
def test_bad_entry_input_answers_400_naming_the_field(staff_client, tenant, payload, field):
    response = staff_client.post(f"{base(tenant)}/entries/", payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()


def test_joining_twice_answers_400_on_email(staff_client, tenant):
    payload = {"name": "Ann", "email": "ann@example.test"}
    staff_client.post(f"{base(tenant)}/entries/", payload, format="json")

    response = staff_client.post(f"{base(tenant)}/entries/", payload, format="json")

    assert response.status_code == 400
    assert "email" in response.json()


def test_joining_for_another_tenants_slot_answers_400_on_slot(staff_client, tenant):
    foreign = SlotFactory(tenant=TenantFactory())
    payload = {"name": "Ann", "email": "ann@example.test", "slot": foreign.pk}

    response = staff_client.post(f"{base(tenant)}/entries/", payload, format="json")

    assert response.status_code == 400 and "slot" in response.json()
    assert not WaitlistEntry.objects.exists()


# --- holds ------------------------------------------------------------------------------------
def test_hold_status_and_staff_confirm(staff_client, tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))

    status = staff_client.get(f"{base(tenant)}/holds/{hold.pk}/").json()
    confirmed = staff_client.post(f"{base(tenant)}/holds/{hold.pk}/confirm/")
    again = staff_client.post(f"{base(tenant)}/holds/{hold.pk}/decline/")

    assert status["status"] == "active" and status["seconds_left"] > 800
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert again.status_code == 409 and "hold" in again.json()
    hold.slot.refresh_from_db()
    hold.entry.refresh_from_db()
    assert hold.slot.status == SlotStatus.BOOKED
    assert hold.entry.status == EntryStatus.BOOKED


def test_staff_decline_cascades(staff_client, tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))

    response = staff_client.post(f"{base(tenant)}/holds/{hold.pk}/decline/")

    assert response.status_code == 200 and response.json()["status"] == "declined"
    assert enqueued("waitlist.notification_cascade").count() == 1


def test_hold_list_filters(staff_client, tenant):
    live = HoldFactory(slot=SlotFactory(tenant=tenant))
    HoldFactory(slot=SlotFactory(tenant=tenant), status=HoldStatus.EXPIRED)

    body = staff_client.get(f"{base(tenant)}/holds/", {"status": "active"}).json()

    assert [h["id"] for h in body["results"]] == [live.pk]


def test_lists_page_with_limit_and_offset(staff_client, tenant):
    entries = [EntryFactory(tenant=tenant, priority=p) for p in (3, 2, 1)]

    page = staff_client.get(f"{base(tenant)}/entries/", {"limit": 2, "offset": 1}).json()

    assert page["count"] == 3
    assert [e["id"] for e in page["results"]] == [entries[1].pk, entries[2].pk]
    assert page["next"] is None and "offset" not in page["previous"]


def test_a_state_conflict_answers_409_with_its_code_and_field(staff_client, tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant), status=HoldStatus.EXPIRED)

    response = staff_client.post(f"{base(tenant)}/holds/{hold.pk}/confirm/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "this hold is expired, not active",
        "code": "expired",
        "field": "hold",
        "hold": ["this hold is expired, not active"],
    }


# --- tenant isolation ---------------------------------------------------------------------
@pytest.fixture
def foreign():
    """Objects of tenant B, which the staff of tenant A must not see."""
    other = TenantFactory()
    hold = HoldFactory(slot=SlotFactory(tenant=other))
    notification = NotificationFactory(hold=hold)
    return {"tenant": other, "hold": hold, "notification": notification}


FOREIGN_REQUESTS = [
    ("get", "{mine}/slots/{slot}/", None),
    ("post", "{mine}/slots/{slot}/cancel/", None),
    ("get", "{mine}/entries/{entry}/", None),
    ("post", "{mine}/entries/{entry}/cancel/", None),
    ("get", "{mine}/holds/{hold}/", None),
    ("post", "{mine}/holds/{hold}/confirm/", None),
    ("post", "{mine}/holds/{hold}/decline/", None),
    ("get", "{theirs}/", None),
    ("get", "{theirs}/slots/", None),
    ("post", "{theirs}/slots/", {"title": "x"}),
    ("get", "{theirs}/slots/{slot}/", None),
    ("get", "{theirs}/entries/", None),
    ("post", "{theirs}/entries/", {"name": "x", "email": "x@example.test"}),
    ("get", "{theirs}/entries/{entry}/", None),
    ("get", "{theirs}/holds/", None),
    ("get", "{theirs}/holds/{hold}/", None),
    ("post", "{theirs}/holds/{hold}/confirm/", None),
    ("post", "/api/jobs/expired-holds/trigger", {"tenant": "{theirs_slug}"}),
    ("post", "/api/jobs/cascade/trigger", {"slot_id": "{slot}", "reason": "declined"}),
    ("post", "/api/jobs/notifications/retry", {"notification_id": "{notification}"}),
]


@pytest.mark.security
@pytest.mark.parametrize(("method", "url", "payload"), FOREIGN_REQUESTS)
def test_staff_of_tenant_a_get_404_for_every_object_of_tenant_b(
    staff_client, tenant, foreign, method, url, payload
):
    hold = foreign["hold"]
    values = {
        "mine": base(tenant),
        "theirs": base(foreign["tenant"]),
        "theirs_slug": foreign["tenant"].slug,
        "slot": hold.slot_id,
        "entry": hold.entry_id,
        "hold": hold.pk,
        "notification": foreign["notification"].pk,
    }
    url = url.format(**values)
    if payload:
        payload = {k: v.format(**values) if isinstance(v, str) else v for k, v in payload.items()}
        payload = {k: int(v) if k.endswith("_id") else v for k, v in payload.items()}

    response = getattr(staff_client, method)(url, payload, format="json")

    assert response.status_code == 404, (url, response.content)
    hold.refresh_from_db()
    assert hold.status == HoldStatus.ACTIVE
    assert not Job.objects.exists()


@pytest.mark.security
def test_lists_never_include_another_tenants_objects(staff_client, tenant, foreign):
    mine = HoldFactory(slot=SlotFactory(tenant=tenant))

    for path, expected in [("slots", mine.slot_id), ("entries", mine.entry_id), ("holds", mine.pk)]:
        body = staff_client.get(f"{base(tenant)}/{path}/").json()
        assert [item["id"] for item in body["results"]] == [expected], path
    tenants = staff_client.get("/api/waitlist/tenants/").json()["results"]
    assert [t["slug"] for t in tenants] == [tenant.slug]


# --- job endpoints --------------------------------------------------------------------------
@pytest.fixture
def admin_client(db):
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


def test_platform_staff_trigger_the_expired_holds_job_for_every_tenant(admin_client):
    first = admin_client.post("/api/jobs/expired-holds/trigger", {}, format="json")
    second = admin_client.post("/api/jobs/expired-holds/trigger/", {}, format="json")

    assert first.status_code == 202, first.content
    body = first.json()
    assert body["task"] == "waitlist.process_expired_holds"
    assert body["queue"] == "waitlist.holds"
    assert body["kwargs"] == {"tenant_id": None}
    assert body["created"] is True
    # While that job is waiting, another trigger returns it instead of queueing a second.
    assert second.json()["job_id"] == body["job_id"] and second.json()["created"] is False
    assert enqueued("waitlist.process_expired_holds").count() == 1


def test_tenant_staff_trigger_the_expired_holds_job_for_their_tenant(staff_client, tenant):
    response = staff_client.post(
        "/api/jobs/expired-holds/trigger", {"tenant": tenant.slug}, format="json"
    )

    assert response.status_code == 202
    assert response.json()["kwargs"] == {"tenant_id": tenant.pk}


def test_tenant_staff_cannot_sweep_every_tenant(staff_client):
    response = staff_client.post("/api/jobs/expired-holds/trigger", {}, format="json")

    assert response.status_code == 400
    assert "tenant" in response.json()


def test_cascade_trigger(staff_client, tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant), status=HoldStatus.DECLINED)
    payload = {"slot_id": hold.slot_id, "previous_entry_id": hold.entry_id, "reason": "declined"}

    response = staff_client.post("/api/jobs/cascade/trigger", payload, format="json")

    assert response.status_code == 202, response.content
    assert response.json()["kwargs"] == payload
    assert response.json()["queue"] == "waitlist.cascade"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"reason": "declined"}, "slot_id"),
        ({"slot_id": "abc", "reason": "declined"}, "slot_id"),
        ({"slot_id": 2**64, "reason": "declined"}, "slot_id"),
        ({"slot_id": 1}, "reason"),
        ({"slot_id": 1, "reason": "bored"}, "reason"),
        ({"slot_id": 1, "reason": "declined", "previous_entry_id": -3}, "previous_entry_id"),
    ],
)
def test_bad_cascade_input_answers_400_naming_the_field(admin_client, payload, field):
    response = admin_client.post("/api/jobs/cascade/trigger", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_cascade_trigger_rejects_entries_of_another_tenant_and_closed_slots(admin_client):
    slot = SlotFactory()
    stranger = EntryFactory()
    booked = SlotFactory(status=SlotStatus.BOOKED)

    mixed = admin_client.post(
        "/api/jobs/cascade/trigger",
        {"slot_id": slot.pk, "previous_entry_id": stranger.pk, "reason": "expired"},
        format="json",
    )
    closed = admin_client.post(
        "/api/jobs/cascade/trigger", {"slot_id": booked.pk, "reason": "expired"}, format="json"
    )

    assert mixed.status_code == 400 and "previous_entry_id" in mixed.json()
    assert closed.status_code == 409 and "slot_id" in closed.json()
    assert not Job.objects.exists()


def test_notification_retry_endpoint(staff_client, tenant):
    failed = NotificationFactory(
        hold=HoldFactory(slot=SlotFactory(tenant=tenant)), status=NotificationStatus.FAILED
    )
    sent = NotificationFactory(
        hold=HoldFactory(slot=SlotFactory(tenant=tenant)), status=NotificationStatus.SENT
    )

    retried = staff_client.post(
        "/api/jobs/notifications/retry", {"notification_id": failed.pk}, format="json"
    )
    refused = staff_client.post(
        "/api/jobs/notifications/retry", {"notification_id": sent.pk}, format="json"
    )
    missing = staff_client.post("/api/jobs/notifications/retry", {}, format="json")

    assert retried.status_code == 202
    assert retried.json()["kwargs"] == {"notification_id": failed.pk}
    assert refused.status_code == 409 and "notification_id" in refused.json()
    assert missing.status_code == 400 and "notification_id" in missing.json()


def test_cleanup_trigger_is_for_platform_staff(admin_client, staff_client):
    refused = staff_client.post("/api/jobs/cleanup/trigger", {}, format="json")
    accepted = admin_client.post("/api/jobs/cleanup/trigger", {"retention_days": 10}, format="json")
    bad = admin_client.post("/api/jobs/cleanup/trigger", {"retention_days": 0}, format="json")

    assert refused.status_code == 403
    assert accepted.status_code == 202
    assert accepted.json()["kwargs"] == {"retention_days": 10}
    assert bad.status_code == 400 and "retention_days" in bad.json()


def test_users_without_any_tenant_cannot_trigger_jobs(db):
    client = APIClient()
    client.force_authenticate(UserFactory())

    for url in ["expired-holds/trigger", "cascade/trigger", "notifications/retry"]:
        assert client.post(f"/api/jobs/{url}", {}, format="json").status_code == 403


def test_job_endpoints_only_accept_post(admin_client):
    assert admin_client.get("/api/jobs/cleanup/trigger").status_code == 405


def test_staff_of_two_tenants_see_both(tenant):
    user = UserFactory()
    MembershipFactory(user=user, tenant=tenant)
    MembershipFactory(user=user)
    client = APIClient()
    client.force_authenticate(user)

    assert client.get("/api/waitlist/tenants/").json()["count"] == 2
