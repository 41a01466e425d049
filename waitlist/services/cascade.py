"""The notification cascade: offer a slot to the best waiting candidate, a hold plus a
notification, whenever a slot opens or its previous candidate declines or lets it expire."""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from waitlist import selectors, tasks
from waitlist.models import CascadeReason, Hold, HoldStatus, NotificationKind, Slot, SlotStatus
from waitlist.services.audit import SYSTEM, audit_record
from waitlist.services.notifications import notification_create

# Candidates tried by one cascade when the chosen one is taken by a racing cascade.
CASCADE_CANDIDATE_TRIES = 5


def cascade_kwargs(*, slot_id: int, previous_entry_id: int | None, reason: str) -> dict:
    """The cascade job's arguments (JSON: the reason as its plain value)."""
    return {
        "slot_id": slot_id,
        "previous_entry_id": previous_entry_id,
        "reason": str(CascadeReason(reason)),
    }


def cascade_enqueue(*, slot_id: int, previous_entry_id: int | None, reason: str):
    """Offer the slot to the next candidate, in a job (retried, recorded in the ledger)."""
    return tasks.notification_cascade.apply_async(
        kwargs=cascade_kwargs(slot_id=slot_id, previous_entry_id=previous_entry_id, reason=reason)
    )


def cascade_trigger(*, slot: Slot, previous_entry_id: int | None, reason: str):
    """A cascade started by hand (the job endpoint): one live job per tenant, slot and reason.

    A repeat while that job is waiting or running returns it (``created`` False) instead of
    queueing another, so a tenant's staff cannot fill the queue every tenant shares. The
    cascades the services start themselves stay unkeyed: a decline that lands while an
    earlier cascade of the slot is still finishing must still get its own run."""
    reason = str(CascadeReason(reason))
    return tasks.notification_cascade.apply_async(
        kwargs=cascade_kwargs(slot_id=slot.pk, previous_entry_id=previous_entry_id, reason=reason),
        job_key=f"waitlist.cascade-trigger:{slot.tenant_id}:{slot.pk}:{reason}",
    )


def slot_offer_next(
    *,
    slot_id: int,
    previous_entry_id: int | None = None,
    reason: str = CascadeReason.EXPIRED,
    now: datetime | None = None,
) -> dict:
    """Offer the slot to the best waiting candidate: a hold plus a notification.

    Safe to run twice or in parallel: the slot row lock serialises cascades of one slot,
    and the partial unique index on live holds refuses a second one whatever the code path.
    """
    reason = CascadeReason(reason)
    now = now or timezone.now()
    outcome: dict[str, Any] = {
        "slot_id": slot_id,
        "previous_entry_id": previous_entry_id,
        "reason": str(reason),
    }
    with transaction.atomic():
        slot = Slot.objects.select_for_update().select_related("tenant").filter(pk=slot_id).first()
        if slot is None:
            return outcome | {"outcome": "slot_missing"}
        if slot.status != SlotStatus.OPEN:
            return outcome | {"outcome": f"slot_{slot.status}"}
        if slot.starts_at is not None and slot.starts_at <= now:
            return outcome | {"outcome": "slot_started"}
        live = Hold.objects.filter(slot=slot, status=HoldStatus.ACTIVE).first()
        if live is not None:
            return outcome | {"outcome": "already_held", "hold_id": live.pk}
        expires_at = now + slot.tenant.hold_duration
        if slot.starts_at is not None:
            expires_at = min(expires_at, slot.starts_at)
        hold = None
        for _ in range(CASCADE_CANDIDATE_TRIES):
            # SKIP LOCKED: a candidate being offered another slot right now is passed over
            # instead of waited for.
            candidate = (
                selectors.slot_candidates(slot=slot).select_for_update(skip_locked=True).first()
            )
            if candidate is None:
                break
            try:
                with transaction.atomic():
                    hold = Hold.objects.create(
                        tenant_id=slot.tenant_id,
                        slot=slot,
                        entry=candidate,
                        offer_reason=reason,
                        offered_at=now,
                        expires_at=expires_at,
                    )
                break
            except IntegrityError:
                # Another writer won the slot (the constraint, not our lock, stopped us) or
                # the candidate took another offer in between.
                live = Hold.objects.filter(slot=slot, status=HoldStatus.ACTIVE).first()
                if live is not None:
                    return outcome | {"outcome": "already_held", "hold_id": live.pk}
                continue
        if hold is None:
            audit_record(
                tenant_id=slot.tenant_id,
                actor=SYSTEM,
                action="slot.waitlist_exhausted",
                obj=slot,
                data={"reason": str(reason), "previous_entry_id": previous_entry_id},
            )
            return outcome | {"outcome": "exhausted"}
        audit_record(
            tenant_id=slot.tenant_id,
            actor=SYSTEM,
            action="hold.offered",
            obj=hold,
            data={
                "to": HoldStatus.ACTIVE,
                "slot": slot.pk,
                "entry": candidate.pk,
                "reason": str(reason),
                "previous_entry_id": previous_entry_id,
                "expires_at": expires_at.isoformat(),
            },
        )
        notification = notification_create(hold=hold, entry=candidate, kind=NotificationKind.OFFER)
    return outcome | {
        "outcome": "offered",
        "hold_id": hold.pk,
        "entry_id": candidate.pk,
        "notification_id": notification.pk,
    }
