"""Customers joining and leaving the waitlist."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from waitlist import selectors
from waitlist.errors import WaitlistError
from waitlist.models import (
    CascadeReason,
    Channel,
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


def entry_join(
    *,
    tenant: Tenant,
    name: str,
    email: str,
    actor: Actor,
    phone: str = "",
    channel: str = Channel.EMAIL,
    priority: int = 0,
    slot: Slot | None = None,
) -> WaitlistEntry:
    """Put a customer on the list. If an open slot is waiting for candidates (its list ran
    out earlier), a cascade offers it to them."""
    if slot is not None and slot.tenant_id != tenant.pk:
        raise WaitlistError("no such slot", field="slot", code="does_not_exist")
    if slot is not None and slot.status != SlotStatus.OPEN:
        raise WaitlistError(f"the slot is {slot.status}", field="slot", code=slot.status)
    with transaction.atomic():
        try:
            with transaction.atomic():
                entry = WaitlistEntry.objects.create(
                    tenant=tenant,
                    slot=slot,
                    name=name,
                    email=email,
                    phone=phone,
                    channel=channel,
                    priority=priority,
                )
        except IntegrityError:
            duplicate = WaitlistEntry.objects.filter(
                tenant=tenant, email__iexact=email, slot=slot, status=EntryStatus.WAITING
            ).exists()
            if not duplicate:
                raise
            raise WaitlistError(
                "this email is already waiting" + (" for this slot" if slot else ""),
                field="email",
                code="duplicate",
            ) from None
        audit_record(
            tenant_id=tenant.pk,
            actor=actor,
            action="entry.joined",
            obj=entry,
            data={"priority": priority, "slot": slot.pk if slot else None, "channel": channel},
        )
        unheld = (
            selectors.slots_waiting_for_candidates(
                tenant=tenant, slot_id=slot.pk if slot else None, now=timezone.now()
            )
            .values_list("pk", flat=True)
            .first()
        )
        if unheld is not None:
            cascade_enqueue(slot_id=unheld, previous_entry_id=None, reason=CascadeReason.OPENED)
    return entry


def entry_cancel(*, entry: WaitlistEntry, actor: Actor) -> WaitlistEntry:
    """Take a customer off the list. A live offer is released to the next candidate; a
    booking is cancelled and its slot opened again."""
    now = timezone.now()
    live = [HoldStatus.ACTIVE, HoldStatus.CONFIRMED]
    with transaction.atomic():
        # Lock order slot -> entry -> hold, as everywhere: the slots of the entry's live
        # holds first.
        slot_ids = sorted(
            set(Hold.objects.filter(entry=entry, status__in=live).values_list("slot_id", flat=True))
        )
        slots = {
            s.pk: s for s in Slot.objects.select_for_update().filter(pk__in=slot_ids).order_by("pk")
        }
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status == EntryStatus.CANCELLED:
            raise WaitlistError("the entry is already cancelled", field="entry", code="cancelled")
        holds = list(Hold.objects.select_for_update().filter(entry=entry, status__in=live))
        if any(hold.slot_id not in slots for hold in holds):
            # A cascade offered this entry another slot between our read and our locks.
            raise WaitlistError(
                "the entry received an offer while being cancelled; try again",
                field="entry",
                code="conflict",
            )
        for hold in holds:
            previous = status_change(
                hold,
                to=HoldStatus.CANCELLED,
                actor=actor,
                action="hold.cancelled",
                now=now,
                data={"why": "entry cancelled"},
            )
            reason = CascadeReason.DECLINED
            slot = slots[hold.slot_id]
            if previous == HoldStatus.CONFIRMED and slot.status == SlotStatus.BOOKED:
                status_change(slot, to=SlotStatus.OPEN, actor=actor, action="slot.reopened")
                reason = CascadeReason.OPENED
            cascade_enqueue(slot_id=slot.pk, previous_entry_id=entry.pk, reason=reason)
        status_change(entry, to=EntryStatus.CANCELLED, actor=actor, action="entry.cancelled")
    return entry
