"""The database refuses a second live hold for a slot, even when writers race in parallel."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from waitlist import services
from waitlist.models import CascadeReason, Hold, HoldStatus
from waitlist.tests.factories import EntryFactory, HoldFactory, SlotFactory, TenantFactory

PARALLEL = 8


def run_in_threads(target, count: int = PARALLEL) -> list:
    """Start ``count`` threads together (a barrier), each with its own DB connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.django_db
def test_database_refuses_a_second_live_hold_for_a_slot(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))

    with pytest.raises(IntegrityError, match="waitlist_hold_one_live_per_slot"):
        HoldFactory(slot=hold.slot)


@pytest.mark.django_db
def test_a_slot_can_be_offered_again_after_its_hold_closed(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant), status=HoldStatus.EXPIRED)

    HoldFactory(slot=hold.slot)  # a different entry: allowed

    assert Hold.objects.filter(slot=hold.slot, status=HoldStatus.ACTIVE).count() == 1


@pytest.mark.django_db
def test_database_refuses_two_bookings_of_a_slot(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant), status=HoldStatus.CONFIRMED)

    with pytest.raises(IntegrityError, match="waitlist_hold_one_booking_per_slot"):
        HoldFactory(slot=hold.slot, status=HoldStatus.CONFIRMED)


@pytest.mark.django_db
def test_database_refuses_two_live_offers_for_one_customer(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))

    with pytest.raises(IntegrityError, match="waitlist_hold_one_live_per_entry"):
        HoldFactory(slot=SlotFactory(tenant=tenant), entry=hold.entry)


@pytest.mark.django_db
def test_database_refuses_offering_a_slot_twice_to_one_customer(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant), status=HoldStatus.DECLINED)

    with pytest.raises(IntegrityError, match="waitlist_hold_one_offer"):
        HoldFactory(slot=hold.slot, entry=hold.entry)


@pytest.mark.django_db(transaction=True)
def test_parallel_cascades_for_one_slot_produce_exactly_one_live_hold():
    # Given a slot and more candidates than racing cascades
    tenant = TenantFactory()
    slot = SlotFactory(tenant=tenant)
    for priority in range(PARALLEL * 2):
        EntryFactory(tenant=tenant, priority=priority)

    # When eight cascades for it run at the same moment on eight connections
    results = run_in_threads(
        lambda i: services.slot_offer_next(slot_id=slot.pk, reason=CascadeReason.EXPIRED)
    )

    # Then exactly one offers the slot and the others see it held
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    outcomes = sorted(r["outcome"] for r in results)
    assert outcomes == ["already_held"] * (PARALLEL - 1) + ["offered"]
    assert Hold.objects.filter(slot=slot, status=HoldStatus.ACTIVE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_writers_that_skip_the_lock_are_still_stopped_by_the_constraint():
    # Given a slot and one candidate per writer
    tenant = TenantFactory()
    slot = SlotFactory(tenant=tenant)
    entries = [EntryFactory(tenant=tenant) for _ in range(PARALLEL)]
    expires = timezone.now() + tenant.hold_duration

    # When eight transactions insert a live hold for it at once, without any lock
    def insert(index: int) -> str:
        with transaction.atomic():
            Hold.objects.create(tenant=tenant, slot=slot, entry=entries[index], expires_at=expires)
        return "inserted"

    results = run_in_threads(insert)

    # Then one wins and the unique index refuses the rest
    assert results.count("inserted") == 1
    refused = [r for r in results if isinstance(r, IntegrityError)]
    assert len(refused) == PARALLEL - 1
    assert all("waitlist_hold_one_live_per_slot" in str(r) for r in refused)
    assert Hold.objects.filter(slot=slot, status=HoldStatus.ACTIVE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_cascades_for_different_slots_offer_different_customers():
    # Given as many slots as waiting customers
    tenant = TenantFactory()
    slots = [SlotFactory(tenant=tenant) for _ in range(PARALLEL)]
    entries = [EntryFactory(tenant=tenant) for _ in range(PARALLEL)]

    # When every slot cascades at once
    results = run_in_threads(
        lambda i: services.slot_offer_next(slot_id=slots[i].pk, reason=CascadeReason.OPENED)
    )

    # Then every slot is offered, each to a different customer
    assert [r["outcome"] for r in results] == ["offered"] * PARALLEL, results
    holders = Hold.objects.filter(status=HoldStatus.ACTIVE).values_list("entry_id", flat=True)
    assert sorted(holders) == sorted(e.pk for e in entries)
