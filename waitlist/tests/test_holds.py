"""Confirm, decline, cancel and join: the rules around a hold."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from waitlist import services
from waitlist.errors import HoldExpired, HoldNotActive, WaitlistError
from waitlist.models import (
    AuditLog,
    CascadeReason,
    EntryStatus,
    HoldStatus,
    Notification,
    NotificationKind,
    SlotStatus,
)
from waitlist.tests.factories import EntryFactory, HoldFactory, SlotFactory, UserFactory
from waitlist.tests.ledger import cascade_jobs

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
STAFF = services.Actor("staff-test")


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


@time_machine.travel(NOW, tick=False)
def test_confirm_books_the_slot_and_the_entry_and_sends_a_confirmation(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))
    user = UserFactory()

    services.hold_confirm(hold=hold, actor=services.Actor.of_user(user))

    hold, slot, entry = refreshed(hold, hold.slot, hold.entry)
    assert hold.status == HoldStatus.CONFIRMED and hold.resolved_at == NOW
    assert slot.status == SlotStatus.BOOKED
    assert entry.status == EntryStatus.BOOKED
    booked = Notification.objects.get(kind=NotificationKind.BOOKED)
    assert booked.entry == entry
    audit = AuditLog.objects.get(action="hold.confirmed")
    assert (audit.actor, audit.actor_label) == (user, user.username)
    assert audit.data == {"from": "active", "to": "confirmed"}
    assert {"slot.booked", "entry.booked"} <= set(AuditLog.objects.values_list("action", flat=True))


@time_machine.travel(NOW, tick=False)
def test_decline_releases_the_slot_to_the_next_candidate(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))

    services.hold_decline(hold=hold, actor=services.CUSTOMER)

    hold, entry = refreshed(hold, hold.entry)
    assert hold.status == HoldStatus.DECLINED
    assert entry.status == EntryStatus.WAITING
    assert cascade_jobs().get().kwargs == {
        "slot_id": hold.slot_id,
        "previous_entry_id": entry.pk,
        "reason": "declined",
    }
    assert AuditLog.objects.filter(action="hold.declined", actor_label="customer").exists()


@pytest.mark.parametrize("decide", [services.hold_confirm, services.hold_decline])
def test_an_expired_hold_cannot_be_confirmed_or_declined(tenant, decide):
    hold = HoldFactory(
        slot=SlotFactory(tenant=tenant), offered_at=NOW, expires_at=NOW + timedelta(minutes=15)
    )

    with time_machine.travel(NOW + timedelta(minutes=15), tick=False), pytest.raises(HoldExpired):
        decide(hold=hold, actor=STAFF)

    hold, slot = refreshed(hold, hold.slot)
    assert hold.status == HoldStatus.ACTIVE  # left for the expired-holds job to release
    assert slot.status == SlotStatus.OPEN
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize(
    "status", [HoldStatus.CONFIRMED, HoldStatus.DECLINED, HoldStatus.EXPIRED, HoldStatus.CANCELLED]
)
def test_a_closed_hold_cannot_be_decided_again(tenant, status):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant), status=status)

    with pytest.raises(HoldNotActive) as raised:
        services.hold_confirm(hold=hold, actor=STAFF)

    assert raised.value.hold_status == status
    assert not cascade_jobs().exists()


def test_cancelling_an_entry_with_an_offer_cascades_the_slot(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))

    services.entry_cancel(entry=hold.entry, actor=STAFF)

    hold, entry = refreshed(hold, hold.entry)
    assert hold.status == HoldStatus.CANCELLED
    assert entry.status == EntryStatus.CANCELLED
    assert cascade_jobs().get().kwargs["reason"] == "declined"


def test_cancelling_a_booked_entry_reopens_its_slot(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))
    services.hold_confirm(hold=hold, actor=STAFF)

    services.entry_cancel(entry=hold.entry, actor=STAFF)

    hold, slot = refreshed(hold, hold.slot)
    assert hold.status == HoldStatus.CANCELLED
    assert slot.status == SlotStatus.OPEN
    assert cascade_jobs().get().kwargs["reason"] == "opened"


def test_cancelling_twice_is_refused(tenant):
    entry = EntryFactory(tenant=tenant, status=EntryStatus.CANCELLED)

    with pytest.raises(WaitlistError) as raised:
        services.entry_cancel(entry=entry, actor=STAFF)

    assert raised.value.field == "entry"


def test_cancelling_a_slot_withdraws_its_offer(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))

    services.slot_cancel(slot=hold.slot, actor=STAFF)

    hold, slot, entry = refreshed(hold, hold.slot, hold.entry)
    assert (hold.status, slot.status, entry.status) == (
        HoldStatus.CANCELLED,
        SlotStatus.CANCELLED,
        EntryStatus.WAITING,
    )
    assert not cascade_jobs().exists()
    with pytest.raises(WaitlistError):
        services.slot_cancel(slot=slot, actor=STAFF)


def test_cancelling_a_booked_slot_puts_the_customer_back_on_the_list(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))
    services.hold_confirm(hold=hold, actor=STAFF)

    services.slot_cancel(slot=hold.slot, actor=STAFF)

    (entry,) = refreshed(hold.entry)
    assert entry.status == EntryStatus.WAITING
    assert AuditLog.objects.filter(action="entry.booking_cancelled").exists()


def test_a_new_slot_starts_its_cascade(tenant):
    slot = services.slot_create(tenant=tenant, title="Table 4", actor=STAFF)

    assert slot.status == SlotStatus.OPEN
    assert cascade_jobs().get().kwargs == {
        "slot_id": slot.pk,
        "previous_entry_id": None,
        "reason": str(CascadeReason.OPENED),
    }
    assert AuditLog.objects.filter(action="slot.opened", object_id=slot.pk).exists()


def test_a_slot_in_the_past_is_refused(tenant):
    with pytest.raises(WaitlistError) as raised:
        services.slot_create(
            tenant=tenant, title="x", starts_at=datetime(2000, 1, 1, tzinfo=UTC), actor=STAFF
        )
    assert raised.value.field == "starts_at"


def test_joining_while_a_slot_waits_for_candidates_offers_it(tenant):
    slot = SlotFactory(tenant=tenant)

    entry = services.entry_join(tenant=tenant, name="Ann", email="ann@example.test", actor=STAFF)

    assert entry.status == EntryStatus.WAITING
    assert cascade_jobs().get().kwargs["slot_id"] == slot.pk
    assert AuditLog.objects.filter(action="entry.joined", object_id=entry.pk).exists()


def test_joining_when_every_open_slot_is_held_starts_no_cascade(tenant):
    HoldFactory(slot=SlotFactory(tenant=tenant))

    services.entry_join(tenant=tenant, name="Ann", email="ann@example.test", actor=STAFF)

    assert not cascade_jobs().exists()


def test_the_same_email_cannot_wait_twice_for_the_same_target(tenant):
    services.entry_join(tenant=tenant, name="Ann", email="ann@example.test", actor=STAFF)

    with pytest.raises(WaitlistError) as raised:
        services.entry_join(tenant=tenant, name="Ann", email="ANN@example.test", actor=STAFF)

    assert (raised.value.field, raised.value.code) == ("email", "duplicate")
    # Waiting for one particular slot is a different target.
    slot = SlotFactory(tenant=tenant)
    services.entry_join(tenant=tenant, name="Ann", email="ann@example.test", slot=slot, actor=STAFF)


def test_joining_for_a_booked_slot_is_refused(tenant):
    slot = SlotFactory(tenant=tenant, status=SlotStatus.BOOKED)

    with pytest.raises(WaitlistError) as raised:
        services.entry_join(tenant=tenant, name="A", email="a@example.test", slot=slot, actor=STAFF)

    assert raised.value.field == "slot"


def test_cancelling_a_booked_slot_of_a_customer_who_rejoined_keeps_one_waiting_entry(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))
    services.hold_confirm(hold=hold, actor=STAFF)
    again = services.entry_join(
        tenant=tenant, name="Again", email=hold.entry.email.upper(), actor=STAFF
    )

    services.slot_cancel(slot=hold.slot, actor=STAFF)

    (entry,) = refreshed(hold.entry)
    assert entry.status == EntryStatus.CANCELLED
    assert again.status == EntryStatus.WAITING
