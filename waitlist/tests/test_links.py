"""Signed confirm/decline links and the public pages: every rejection changes nothing."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from waitlist import links
from waitlist.models import AuditLog, EntryStatus, HoldStatus, SlotStatus
from waitlist.tests.factories import HoldFactory, SlotFactory, TenantFactory
from waitlist.tests.ledger import Job, cascade_jobs
from waitlist.throttles import PublicLinkThrottle

pytestmark = [pytest.mark.django_db, pytest.mark.security]


@pytest.fixture
def hold(tenant):
    return HoldFactory(slot=SlotFactory(tenant=tenant, title="Table 7"))


def link(hold, purpose=links.Purpose.CONFIRM, tenant_slug=None):
    url = links.hold_link_url(
        hold=hold, purpose=purpose, tenant_slug=tenant_slug or hold.tenant.slug
    )
    return urlsplit(url).path


def assert_nothing_changed(hold):
    hold.refresh_from_db()
    hold.slot.refresh_from_db()
    hold.entry.refresh_from_db()
    assert hold.status == HoldStatus.ACTIVE
    assert hold.slot.status == SlotStatus.OPEN
    assert hold.entry.status == EntryStatus.WAITING
    assert not AuditLog.objects.exists()
    assert not Job.objects.exists()


def test_opening_a_link_shows_the_offer_and_changes_nothing(client, hold):
    response = client.get(link(hold))

    assert response.status_code == 200
    assert b"Table 7" in response.content and b'<form method="post">' in response.content
    assert_nothing_changed(hold)


def test_confirm_link_books_the_slot(client, hold):
    response = client.post(link(hold))

    assert response.status_code == 200
    assert b"booked" in response.content
    hold.refresh_from_db()
    assert hold.status == HoldStatus.CONFIRMED
    audit = AuditLog.objects.get(action="hold.confirmed")
    assert audit.actor_label == f"customer <{hold.entry.email}>"


def test_decline_link_cascades_the_slot(client, hold):
    response = client.post(link(hold, links.Purpose.DECLINE))

    assert response.status_code == 200
    hold.refresh_from_db()
    assert hold.status == HoldStatus.DECLINED
    assert cascade_jobs().get().kwargs["reason"] == "declined"


def test_a_used_link_cannot_be_used_again(client, hold):
    url = link(hold)
    client.post(url)
    audits = AuditLog.objects.count()

    again = client.post(url)
    decline_after = client.post(link(hold, links.Purpose.DECLINE))

    assert again.status_code == 409
    assert b"already been used" in again.content
    assert decline_after.status_code == 409
    hold.refresh_from_db()
    assert hold.status == HoldStatus.CONFIRMED
    assert AuditLog.objects.count() == audits
    assert not cascade_jobs().exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_is_rejected(client, hold, method):
    url = link(hold)
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged_payload = signing.dumps(
        {"t": hold.tenant_id, "h": hold.pk, "p": "confirm", "e": 9999999999}, key="not-the-key"
    )
    for bad in (token[:-2] + "xx", forged_payload, "garbage", token + "a"):
        response = getattr(client, method)(url.replace(token, bad))
        assert response.status_code == 400, bad
        assert b"not valid" in response.content
    assert_nothing_changed(hold)


def test_an_expired_link_is_rejected(client, hold):
    url = link(hold)

    with time_machine.travel(hold.expires_at + timedelta(seconds=1)):
        response = client.post(url)

    assert response.status_code == 410
    assert b"expired" in response.content
    assert_nothing_changed(hold)


def test_a_link_of_another_tenant_is_rejected(client, hold):
    other = TenantFactory()

    response = client.post(link(hold, tenant_slug=other.slug))

    assert response.status_code == 400
    assert_nothing_changed(hold)


def test_a_confirm_token_does_not_work_as_a_decline_link(client, hold):
    confirm_token = link(hold).rstrip("/").rsplit("/", 1)[1]
    decline_url = link(hold, links.Purpose.DECLINE)
    decline_token = decline_url.rstrip("/").rsplit("/", 1)[1]

    response = client.post(decline_url.replace(decline_token, confirm_token))

    assert response.status_code == 400
    assert_nothing_changed(hold)


def test_a_link_to_an_unknown_business_is_rejected(client, hold):
    response = client.get(link(hold).replace(hold.tenant.slug, "no-such-place"))

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("status", "code", "text"),
    [
        (HoldStatus.EXPIRED, 410, b"run out"),
        (HoldStatus.CANCELLED, 410, b"withdrawn"),
        (HoldStatus.DECLINED, 409, b"already declined"),
    ],
)
def test_a_link_to_a_closed_offer_explains_why(client, hold, status, code, text):
    url = link(hold)
    hold.status = status
    hold.save()

    response = client.post(url)

    assert response.status_code == code
    assert text in response.content


def test_link_expiry_is_checked_even_if_the_hold_row_says_later(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))
    token = links.hold_link_token(hold=hold, purpose=links.Purpose.CONFIRM)

    with pytest.raises(links.LinkRejected) as raised:
        links.hold_link_verify(
            token=token,
            tenant=tenant,
            purpose=links.Purpose.CONFIRM,
            now=hold.expires_at + timedelta(seconds=1),
        )

    assert raised.value.reason == "expired"
    assert (
        links.hold_link_verify(
            token=token, tenant=tenant, purpose=links.Purpose.CONFIRM, now=timezone.now()
        ).hold_id
        == hold.pk
    )


def test_public_pages_are_rate_limited(client, hold, monkeypatch):
    monkeypatch.setattr(PublicLinkThrottle, "rate", "2/minute", raising=False)
    url = link(hold)

    codes = [client.get(url).status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    response = client.post(url)
    assert response.status_code == 429 and "Retry-After" in response
    assert_nothing_changed(hold)
