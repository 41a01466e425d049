"""The notification cascade: who is offered a slot, and when nobody is."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from waitlist import services, tasks
from waitlist.models import (
    AuditLog,
    CascadeReason,
    EntryStatus,
    Hold,
    HoldStatus,
    Notification,
    NotificationStatus,
    SlotStatus,
)
from waitlist.tests.factories import EntryFactory, HoldFactory, SlotFactory, TenantFactory
from waitlist.tests.ledger import enqueued

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def offer(slot, **kwargs):
    return services.slot_offer_next(slot_id=slot.pk, **kwargs)


@time_machine.travel(NOW, tick=False)
def test_slot_is_offered_to_highest_priority_then_earliest_joined(tenant):
    # Given three waiting customers
    slot = SlotFactory(tenant=tenant)
    EntryFactory(tenant=tenant, priority=0, joined_at=NOW - timedelta(hours=3))
    early_vip = EntryFactory(tenant=tenant, priority=5, joined_at=NOW - timedelta(hours=1))
    EntryFactory(tenant=tenant, priority=5, joined_at=NOW - timedelta(minutes=5))

    # When the slot cascades
    result = offer(slot, reason=CascadeReason.OPENED)

    # Then the earliest of the highest priority holds it for the tenant's hold duration
    assert result["outcome"] == "offered"
    hold = Hold.objects.get(slot=slot)
    assert hold.entry == early_vip
    assert hold.status == HoldStatus.ACTIVE
    assert hold.expires_at == NOW + tenant.hold_duration
    assert hold.offer_reason == CascadeReason.OPENED


@time_machine.travel(NOW, tick=False)
def test_offer_queues_a_notification_and_its_send_job(tenant):
    slot = SlotFactory(tenant=tenant)
    entry = EntryFactory(tenant=tenant)

    result = offer(slot, reason=CascadeReason.OPENED)

    notification = Notification.objects.get(pk=result["notification_id"])
    assert notification.entry == entry
    assert notification.status == NotificationStatus.PENDING
    assert notification.recipient == entry.email
    job = enqueued("waitlist.send_notification").get()
    assert job.kwargs == {"notification_id": notification.pk}
    assert job.queue == "waitlist.notifications"
    assert job.job_key == f"waitlist.notification:{notification.pk}"
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"hold.offered", "notification.queued"} <= actions


def test_cascade_skips_entries_offered_this_slot_before_and_entries_holding_another_offer(
    tenant,
):
    slot = SlotFactory(tenant=tenant)
    declined = EntryFactory(tenant=tenant, priority=9)
    HoldFactory(slot=slot, entry=declined, status=HoldStatus.DECLINED)
    busy = EntryFactory(tenant=tenant, priority=8)
    HoldFactory(slot=SlotFactory(tenant=tenant), entry=busy)
    next_in_line = EntryFactory(tenant=tenant, priority=1)

    result = offer(slot, previous_entry_id=declined.pk, reason=CascadeReason.DECLINED)

    assert result["outcome"] == "offered"
    assert result["entry_id"] == next_in_line.pk
    # The entry that declined keeps waiting for other slots.
    declined.refresh_from_db()
    assert declined.status == EntryStatus.WAITING


def test_cascade_honours_entries_waiting_for_one_specific_slot(tenant):
    slot, other_slot = SlotFactory(tenant=tenant), SlotFactory(tenant=tenant)
    EntryFactory(tenant=tenant, slot=other_slot, priority=9)
    wants_this = EntryFactory(tenant=tenant, slot=slot, priority=1)
    anyone = EntryFactory(tenant=tenant, priority=0)

    assert offer(slot)["entry_id"] == wants_this.pk
    assert offer(other_slot)["outcome"] == "offered"
    assert not Hold.objects.filter(entry=anyone).exists()


def test_cascade_ignores_other_tenants_and_cancelled_or_booked_entries(tenant):
    slot = SlotFactory(tenant=tenant)
    EntryFactory(tenant=TenantFactory(), priority=9)
    EntryFactory(tenant=tenant, status=EntryStatus.CANCELLED, priority=9)
    EntryFactory(tenant=tenant, status=EntryStatus.BOOKED, priority=9)

    result = offer(slot)

    assert result["outcome"] == "exhausted"
    assert not Hold.objects.exists()


def test_exhausted_list_creates_no_hold_and_is_audited(tenant):
    slot = SlotFactory(tenant=tenant)
    previous = EntryFactory(tenant=tenant)
    HoldFactory(slot=slot, entry=previous, status=HoldStatus.EXPIRED)

    result = offer(slot, previous_entry_id=previous.pk, reason=CascadeReason.EXPIRED)

    assert result["outcome"] == "exhausted"
    assert not Hold.objects.filter(status=HoldStatus.ACTIVE).exists()
    audit = AuditLog.objects.get(action="slot.waitlist_exhausted")
    assert audit.object_id == slot.pk
    assert audit.data == {"reason": "expired", "previous_entry_id": previous.pk}


@pytest.mark.parametrize(
    ("slot_status", "outcome"),
    [(SlotStatus.BOOKED, "slot_booked"), (SlotStatus.CANCELLED, "slot_cancelled")],
)
def test_cascade_offers_nothing_for_a_slot_that_is_not_open(tenant, slot_status, outcome):
    slot = SlotFactory(tenant=tenant, status=slot_status)
    EntryFactory(tenant=tenant)

    assert offer(slot)["outcome"] == outcome
    assert not Hold.objects.exists()


def test_cascade_for_a_held_slot_is_a_no_op(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))
    EntryFactory(tenant=tenant)

    result = offer(hold.slot)

    assert result == result | {"outcome": "already_held", "hold_id": hold.pk}
    assert Hold.objects.count() == 1


def test_cascade_for_a_missing_slot_is_a_no_op(db):
    assert services.slot_offer_next(slot_id=999_999)["outcome"] == "slot_missing"


@time_machine.travel(NOW, tick=False)
def test_no_offer_once_the_slot_has_started_and_hold_never_outlives_the_start(tenant):
    started = SlotFactory(tenant=tenant, starts_at=NOW - timedelta(minutes=1))
    soon = SlotFactory(tenant=tenant, starts_at=NOW + timedelta(minutes=5))
    EntryFactory(tenant=tenant)
    EntryFactory(tenant=tenant)

    assert offer(started)["outcome"] == "slot_started"
    offer(soon)
    assert Hold.objects.get(slot=soon).expires_at == soon.starts_at


def test_cascade_job_is_tried_5_times_with_exponential_backoff():
    task = tasks.notification_cascade
    assert task.name == "waitlist.notification_cascade"
    assert task.job_queue == "waitlist.cascade"
    assert task.max_attempts == 5
    assert [task.backoff.seconds(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert tasks.OperationalError in task.retry_for
    assert Exception not in task.retry_for
