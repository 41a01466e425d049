"""Opening and withdrawing slots."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from waitlist.errors import WaitlistError
from waitlist.models import (
    CascadeReason,
    EntryStatus,
    Hold,
    HoldStatus,
    Slot,
    SlotStatus,
    Tenant,
    WaitlistEntry,
)
from waitlist.services.audit import Actor, audit_record, status_change
from waitlist.services.cascade import cascade_enqueue


def slot_create(
    *, tenant: Tenant, title: str, starts_at: datetime | None = None, actor: Actor
) -> Slot:
    """A new open slot: its offer cascade starts as soon as this commits."""
    if starts_at is not None and starts_at <= timezone.now():
        raise WaitlistError("must be in the future", field="starts_at")
    with transaction.atomic():
        slot = Slot.objects.create(tenant=tenant, title=title, starts_at=starts_at)
        audit_record(
            tenant_id=tenant.pk,
            actor=actor,
            action="slot.opened",
            obj=slot,
            data={"title": title, "starts_at": starts_at.isoformat() if starts_at else None},
        )
        cascade_enqueue(slot_id=slot.pk, previous_entry_id=None, reason=CascadeReason.OPENED)
    return slot


def slot_cancel(*, slot: Slot, actor: Actor) -> Slot:
    """Withdraw a slot: its live hold or booking is cancelled; a booked customer goes back
    to waiting with their original place in the list."""
    now = timezone.now()
    live = [HoldStatus.ACTIVE, HoldStatus.CONFIRMED]
    with transaction.atomic():
        slot = Slot.objects.select_for_update().get(pk=slot.pk)
        if slot.status == SlotStatus.CANCELLED:
            raise WaitlistError("the slot is already cancelled", field="slot", code="cancelled")
        holds = list(Hold.objects.filter(slot=slot, status__in=live).values_list("pk", "entry_id"))
        entries = {
            e.pk: e
            for e in WaitlistEntry.objects.select_for_update()
            .filter(pk__in=[entry_id for _, entry_id in holds])
            .order_by("pk")
        }
        for hold in Hold.objects.select_for_update().filter(
            pk__in=[pk for pk, _ in holds], status__in=live
        ):
            previous = status_change(
                hold,
                to=HoldStatus.CANCELLED,
                actor=actor,
                action="hold.cancelled",
                now=now,
                data={"why": "slot cancelled"},
            )
            entry = entries[hold.entry_id]
            if previous == HoldStatus.CONFIRMED and entry.status == EntryStatus.BOOKED:
                # Back on the list, unless the customer has joined again meanwhile (one
                # waiting entry per email and target).
                rejoined = WaitlistEntry.objects.filter(
                    tenant_id=entry.tenant_id,
                    email__iexact=entry.email,
                    slot_id=entry.slot_id,
                    status=EntryStatus.WAITING,
                ).exists()
                status_change(
                    entry,
                    to=EntryStatus.CANCELLED if rejoined else EntryStatus.WAITING,
                    actor=actor,
                    action="entry.booking_cancelled",
                    data={"slot": slot.pk},
                )
        status_change(slot, to=SlotStatus.CANCELLED, actor=actor, action="slot.cancelled")
    return slot
