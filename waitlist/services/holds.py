"""The candidate's answer to an offer: confirm (the slot is booked) or decline (it cascades
to the next candidate). Both refuse a hold that is closed or whose time ran out."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from waitlist.errors import HoldExpired, HoldNotActive
from waitlist.models import (
    CascadeReason,
    EntryStatus,
    Hold,
    HoldStatus,
    NotificationKind,
    Slot,
    SlotStatus,
    WaitlistEntry,
)
from waitlist.services.audit import Actor, status_change
from waitlist.services.cascade import cascade_enqueue
from waitlist.services.notifications import notification_create


def _lock_for_decision(hold: Hold, now: datetime) -> tuple[Slot, WaitlistEntry, Hold]:
    slot = Slot.objects.select_for_update().get(pk=hold.slot_id)
    entry = WaitlistEntry.objects.select_for_update().get(pk=hold.entry_id)
    hold = Hold.objects.select_for_update().get(pk=hold.pk)
    if hold.status != HoldStatus.ACTIVE:
        raise HoldNotActive(hold.status)
    if hold.expires_at <= now:
        # Its release (and the cascade) is the expired-holds job's work; nothing changes here.
        raise HoldExpired()
    return slot, entry, hold


def hold_confirm(*, hold: Hold, actor: Actor, now: datetime | None = None) -> Hold:
    """The candidate takes the slot: hold confirmed, slot and entry booked."""
    now = now or timezone.now()
    with transaction.atomic():
        slot, entry, hold = _lock_for_decision(hold, now)
        status_change(hold, to=HoldStatus.CONFIRMED, actor=actor, action="hold.confirmed", now=now)
        status_change(
            slot, to=SlotStatus.BOOKED, actor=actor, action="slot.booked", data={"entry": entry.pk}
        )
        status_change(
            entry, to=EntryStatus.BOOKED, actor=actor, action="entry.booked", data={"slot": slot.pk}
        )
        notification_create(hold=hold, entry=entry, kind=NotificationKind.BOOKED)
    return hold


def hold_decline(*, hold: Hold, actor: Actor, now: datetime | None = None) -> Hold:
    """The candidate passes: the slot cascades to the next one. The entry keeps waiting
    for other slots (it is never offered this one again)."""
    now = now or timezone.now()
    with transaction.atomic():
        _slot, entry, hold = _lock_for_decision(hold, now)
        status_change(hold, to=HoldStatus.DECLINED, actor=actor, action="hold.declined", now=now)
        cascade_enqueue(
            slot_id=hold.slot_id, previous_entry_id=entry.pk, reason=CascadeReason.DECLINED
        )
    return hold
