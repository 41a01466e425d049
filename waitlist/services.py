"""State changes of the waitlist. Each one writes its audit rows in the same transaction and
enqueues follow-up jobs there too (the ledger publishes them after commit).

Row locks are always taken in the order slot -> entry -> hold, so two services never wait
on each other in a cycle. The expired-holds sweep locks holds only, with SKIP LOCKED, and
the cascade waits only for its slot's row; candidate entries are taken with SKIP LOCKED.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from jobs.services import JobSpec, enqueue_many
from waitlist import emails, selectors
from waitlist.errors import (
    HoldExpired,
    HoldNotActive,
    NotificationTemporaryFailure,
    WaitlistError,
)
from waitlist.models import (
    AuditLog,
    CascadeReason,
    Channel,
    EntryStatus,
    Hold,
    HoldStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    Slot,
    SlotStatus,
    Tenant,
    TenantMembership,
    WaitlistEntry,
)

log = logging.getLogger(__name__)

EXPIRED_HOLDS_BATCH = 500
EXPIRED_HOLDS_MAX_BATCHES = 20
CLEANUP_BATCH = 5000
CLEANUP_MAX_BATCHES = 200
# Candidates tried by one cascade when the chosen one is taken by a racing cascade.
CASCADE_CANDIDATE_TRIES = 5


# --- audit ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    """Who caused a change: a user (staff), the customer (signed link) or the system (jobs)."""

    label: str = "system"
    user: Any = None

    @classmethod
    def of_user(cls, user) -> "Actor":
        return cls(label=user.get_username()[:150], user=user)


SYSTEM = Actor("system")
CUSTOMER = Actor("customer")


def _audit_row(
    *,
    tenant_id: int | None,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int | None,
    data: dict | None = None,
    now: datetime | None = None,
) -> AuditLog:
    return AuditLog(
        tenant_id=tenant_id,
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=data or {},
        created_at=now or timezone.now(),
    )


def audit_record(
    *, tenant_id: int | None, actor: Actor, action: str, obj=None, data: dict | None = None
) -> AuditLog:
    row = _audit_row(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "system",
        object_id=obj.pk if obj is not None else None,
        data=data,
    )
    row.save(force_insert=True)
    return row


# --- enqueueing follow-up jobs ----------------------------------------------------------------
def _tasks():
    # Imported late: tasks import this module.
    from waitlist import tasks

    return tasks


def cascade_enqueue(*, slot_id: int, previous_entry_id: int | None, reason: str):
    """Offer the slot to the next candidate, in a job (retried, recorded in the ledger)."""
    return _tasks().notification_cascade.apply_async(
        kwargs={
            "slot_id": slot_id,
            "previous_entry_id": previous_entry_id,
            "reason": str(CascadeReason(reason)),
        }
    )


def notification_enqueue(*, notification: Notification):
    """Send (or resend) a notification. The job key makes a second enqueue of a notification
    whose send job is still live return that job instead of sending twice."""
    return _tasks().send_notification.apply_async(
        kwargs={"notification_id": notification.pk},
        job_key=f"waitlist.notification:{notification.pk}",
    )


def expired_holds_enqueue(*, tenant_id: int | None):
    """One live sweep per scope: a trigger while one is waiting or running returns that one."""
    return _tasks().process_expired_holds.apply_async(
        kwargs={"tenant_id": tenant_id},
        job_key=f"waitlist.expired-holds:{tenant_id or 'all'}",
    )


def cleanup_enqueue(*, retention_days: int | None):
    return _tasks().cleanup.apply_async(
        kwargs={"retention_days": retention_days}, job_key="waitlist.cleanup"
    )


# --- tenants --------------------------------------------------------------------------------
def tenant_ensure(
    *,
    slug: str,
    actor: Actor,
    name: str | None = None,
    hold_duration: timedelta | None = None,
    staff: list | None = None,
) -> Tenant:
    """Create the tenant or update its name and hold duration; add the given staff."""
    with transaction.atomic():
        tenant, created = Tenant.objects.select_for_update().get_or_create(
            slug=slug, defaults={"name": name or slug}
        )
        changes = {}
        if name and tenant.name != name:
            changes["name"] = name
        if hold_duration is not None and tenant.hold_duration != hold_duration:
            changes["hold_duration"] = hold_duration
        for field, value in changes.items():
            setattr(tenant, field, value)
        if changes:
            tenant.save(update_fields=list(changes))
        if created or changes:
            audit_record(
                tenant_id=tenant.pk,
                actor=actor,
                action="tenant.created" if created else "tenant.updated",
                obj=tenant,
                data={k: str(v) for k, v in changes.items()} | {"slug": slug},
            )
        for user in staff or []:
            membership, added = TenantMembership.objects.get_or_create(tenant=tenant, user=user)
            if added:
                audit_record(
                    tenant_id=tenant.pk,
                    actor=actor,
                    action="membership.added",
                    obj=membership,
                    data={"user": user.get_username()},
                )
    return tenant


# --- slots ------------------------------------------------------------------------------------
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
    with transaction.atomic():
        slot = Slot.objects.select_for_update().get(pk=slot.pk)
        if slot.status == SlotStatus.CANCELLED:
            raise WaitlistError("the slot is already cancelled", field="slot", code="cancelled")
        holds = list(
            Hold.objects.filter(
                slot=slot, status__in=[HoldStatus.ACTIVE, HoldStatus.CONFIRMED]
            ).values_list("pk", "entry_id")
        )
        entries = {
            e.pk: e
            for e in WaitlistEntry.objects.select_for_update()
            .filter(pk__in=[entry_id for _, entry_id in holds])
            .order_by("pk")
        }
        for hold in Hold.objects.select_for_update().filter(
            pk__in=[pk for pk, _ in holds], status__in=[HoldStatus.ACTIVE, HoldStatus.CONFIRMED]
        ):
            previous = hold.status
            hold.status = HoldStatus.CANCELLED
            hold.resolved_at = now
            hold.save(update_fields=["status", "resolved_at"])
            audit_record(
                tenant_id=slot.tenant_id,
                actor=actor,
                action="hold.cancelled",
                obj=hold,
                data={"from": previous, "to": HoldStatus.CANCELLED, "why": "slot cancelled"},
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
                entry.status = EntryStatus.CANCELLED if rejoined else EntryStatus.WAITING
                entry.save(update_fields=["status", "updated_at"])
                audit_record(
                    tenant_id=slot.tenant_id,
                    actor=actor,
                    action="entry.booking_cancelled",
                    obj=entry,
                    data={"from": EntryStatus.BOOKED, "to": entry.status, "slot": slot.pk},
                )
        previous_status = slot.status
        slot.status = SlotStatus.CANCELLED
        slot.save(update_fields=["status", "updated_at"])
        audit_record(
            tenant_id=slot.tenant_id,
            actor=actor,
            action="slot.cancelled",
            obj=slot,
            data={"from": previous_status, "to": SlotStatus.CANCELLED},
        )
    return slot


# --- entries ----------------------------------------------------------------------------------
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
            previous = hold.status
            hold.status = HoldStatus.CANCELLED
            hold.resolved_at = now
            hold.save(update_fields=["status", "resolved_at"])
            audit_record(
                tenant_id=entry.tenant_id,
                actor=actor,
                action="hold.cancelled",
                obj=hold,
                data={"from": previous, "to": HoldStatus.CANCELLED, "why": "entry cancelled"},
            )
            reason = CascadeReason.DECLINED
            slot = slots[hold.slot_id]
            if previous == HoldStatus.CONFIRMED and slot.status == SlotStatus.BOOKED:
                slot.status = SlotStatus.OPEN
                slot.save(update_fields=["status", "updated_at"])
                audit_record(
                    tenant_id=entry.tenant_id,
                    actor=actor,
                    action="slot.reopened",
                    obj=slot,
                    data={"from": SlotStatus.BOOKED, "to": SlotStatus.OPEN},
                )
                reason = CascadeReason.OPENED
            cascade_enqueue(slot_id=slot.pk, previous_entry_id=entry.pk, reason=reason)
        previous_status = entry.status
        entry.status = EntryStatus.CANCELLED
        entry.save(update_fields=["status", "updated_at"])
        audit_record(
            tenant_id=entry.tenant_id,
            actor=actor,
            action="entry.cancelled",
            obj=entry,
            data={"from": previous_status, "to": EntryStatus.CANCELLED},
        )
    return entry


# --- the cascade ----------------------------------------------------------------------------
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
        notification = _notification_create(hold=hold, entry=candidate, kind=NotificationKind.OFFER)
    return outcome | {
        "outcome": "offered",
        "hold_id": hold.pk,
        "entry_id": candidate.pk,
        "notification_id": notification.pk,
    }


# --- confirm / decline ------------------------------------------------------------------------
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
        hold.status = HoldStatus.CONFIRMED
        hold.resolved_at = now
        hold.save(update_fields=["status", "resolved_at"])
        slot.status = SlotStatus.BOOKED
        slot.save(update_fields=["status", "updated_at"])
        entry.status = EntryStatus.BOOKED
        entry.save(update_fields=["status", "updated_at"])
        tenant_id = hold.tenant_id
        audit_record(
            tenant_id=tenant_id,
            actor=actor,
            action="hold.confirmed",
            obj=hold,
            data={"from": HoldStatus.ACTIVE, "to": HoldStatus.CONFIRMED},
        )
        audit_record(
            tenant_id=tenant_id,
            actor=actor,
            action="slot.booked",
            obj=slot,
            data={"from": SlotStatus.OPEN, "to": SlotStatus.BOOKED, "entry": entry.pk},
        )
        audit_record(
            tenant_id=tenant_id,
            actor=actor,
            action="entry.booked",
            obj=entry,
            data={"from": EntryStatus.WAITING, "to": EntryStatus.BOOKED, "slot": slot.pk},
        )
        _notification_create(hold=hold, entry=entry, kind=NotificationKind.BOOKED)
    return hold


def hold_decline(*, hold: Hold, actor: Actor, now: datetime | None = None) -> Hold:
    """The candidate passes: the slot cascades to the next one. The entry keeps waiting
    for other slots (it is never offered this one again)."""
    now = now or timezone.now()
    with transaction.atomic():
        _slot, entry, hold = _lock_for_decision(hold, now)
        hold.status = HoldStatus.DECLINED
        hold.resolved_at = now
        hold.save(update_fields=["status", "resolved_at"])
        audit_record(
            tenant_id=hold.tenant_id,
            actor=actor,
            action="hold.declined",
            obj=hold,
            data={"from": HoldStatus.ACTIVE, "to": HoldStatus.DECLINED},
        )
        cascade_enqueue(
            slot_id=hold.slot_id, previous_entry_id=entry.pk, reason=CascadeReason.DECLINED
        )
    return hold


# --- the expired-holds sweep --------------------------------------------------------------
def _release_expired_sql(*, tenant_filter: bool) -> str:
    table = Hold._meta.db_table
    # SKIP LOCKED: a hold being confirmed right now (row locked) is left to that request;
    # if the confirm loses to the expiry check it changes nothing and the next sweep runs.
    lock = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    tenant = "AND tenant_id = %(tenant)s" if tenant_filter else ""
    return f"""
        UPDATE {table} SET status = %(expired)s, resolved_at = %(now)s
         WHERE id IN (SELECT id FROM {table}
                       WHERE status = %(active)s AND expires_at <= %(now)s {tenant}
                       ORDER BY expires_at LIMIT %(limit)s {lock})
           AND status = %(active)s
        RETURNING id, tenant_id, slot_id, entry_id
    """


# On PostgreSQL the audit rows are written by the same statement (a data-modifying CTE):
# building 100,000 AuditLog instances in Python was a third of a big sweep's time.
_AUDIT_RELEASED_SQL = f"""
    WITH released AS ({{release}}),
    audited AS (
        INSERT INTO {AuditLog._meta.db_table}
               (tenant_id, actor_id, actor_label, action, object_type, object_id, data,
                created_at)
        SELECT tenant_id, NULL, %(actor)s, 'hold.expired', 'hold', id,
               jsonb_build_object('from', %(active)s::text, 'to', %(expired)s::text,
                                  'slot', slot_id, 'entry', entry_id),
               %(now)s
          FROM released
    )
    SELECT id, tenant_id, slot_id, entry_id FROM released
"""


def _release_expired_batch(*, tenant_id: int | None, now: datetime, limit: int) -> list[tuple]:
    """Release up to ``limit`` expired holds and audit each; returns (hold, tenant, slot,
    entry) per released hold. Runs inside the caller's transaction."""
    sql = _release_expired_sql(tenant_filter=tenant_id is not None)
    in_sql = connection.vendor == "postgresql"
    if in_sql:
        sql = _AUDIT_RELEASED_SQL.format(release=sql)
    params = {
        "expired": HoldStatus.EXPIRED.value,
        "active": HoldStatus.ACTIVE.value,
        "now": now,
        "tenant": tenant_id,
        "limit": limit,
        "actor": SYSTEM.label,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if rows and not in_sql:
        AuditLog.objects.bulk_create(
            _audit_row(
                tenant_id=hold_tenant,
                actor=SYSTEM,
                action="hold.expired",
                object_type="hold",
                object_id=hold_id,
                data={
                    "from": HoldStatus.ACTIVE,
                    "to": HoldStatus.EXPIRED,
                    "slot": slot_id,
                    "entry": entry_id,
                },
                now=now,
            )
            for hold_id, hold_tenant, slot_id, entry_id in rows
        )
    return rows


def holds_release_expired(
    *,
    tenant_id: int | None = None,
    now: datetime | None = None,
    batch_size: int = EXPIRED_HOLDS_BATCH,
    max_batches: int = EXPIRED_HOLDS_MAX_BATCHES,
) -> dict:
    """Release every expired live hold (one tenant or all), in set-based batches, and start
    one cascade per released slot (a slot has at most one live hold, so one per hold)."""
    now = now or timezone.now()
    released = batches = 0
    cascade_task = _tasks().notification_cascade.name
    while batches < max_batches:
        batches += 1
        with transaction.atomic():
            rows = _release_expired_batch(tenant_id=tenant_id, now=now, limit=batch_size)
            enqueue_many(
                JobSpec(
                    task=cascade_task,
                    kwargs={
                        "slot_id": slot_id,
                        "previous_entry_id": entry_id,
                        "reason": str(CascadeReason.EXPIRED),
                    },
                )
                for _hold_id, _tenant, slot_id, entry_id in rows
            )
        released += len(rows)
        if len(rows) < batch_size:
            break
    return {"released": released, "cascades": released, "batches": batches, "tenant_id": tenant_id}


# --- notifications ------------------------------------------------------------------------
def _notification_create(*, hold: Hold, entry: WaitlistEntry, kind: str) -> Notification:
    notification = Notification.objects.create(
        tenant_id=entry.tenant_id,
        entry=entry,
        hold=hold,
        kind=kind,
        channel=entry.channel,
        recipient=entry.email if entry.channel == Channel.EMAIL else entry.phone,
    )
    audit_record(
        tenant_id=entry.tenant_id,
        actor=SYSTEM,
        action="notification.queued",
        obj=notification,
        data={"to": NotificationStatus.PENDING, "kind": kind, "channel": entry.channel},
    )
    notification_enqueue(notification=notification)
    return notification


def _notification_finish(
    notification: Notification,
    *,
    status: str,
    action: str,
    error: str = "",
    counts_attempt: bool = True,
    data: dict | None = None,
) -> bool:
    """Move a pending notification on, once: a duplicate run finds it no longer pending."""
    now = timezone.now()
    changes: dict[str, Any] = {"status": status, "updated_at": now}
    if counts_attempt:
        changes["attempts"] = F("attempts") + 1
    if error:
        changes["last_error"] = error[:2000]
    if status == NotificationStatus.SENT:
        changes["sent_at"] = now
    with transaction.atomic():
        updated = Notification.objects.filter(
            pk=notification.pk, status=NotificationStatus.PENDING
        ).update(**changes)
        if updated:
            audit_record(
                tenant_id=notification.tenant_id,
                actor=SYSTEM,
                action=action,
                obj=notification,
                data={"from": NotificationStatus.PENDING, "to": status, "error": error[:500]}
                | (data or {}),
            )
    return bool(updated)


def notification_send(
    *,
    notification_id: int,
    attempt: int = 1,
    final_attempt: bool = True,
    now: datetime | None = None,
) -> dict:
    """Send one notification, outside any transaction. A transient failure raises
    ``NotificationTemporaryFailure`` (the job retries it with backoff) unless this is the
    final attempt, when the notification is marked failed and audited first."""
    now = now or timezone.now()
    notification = (
        Notification.objects.select_related("tenant", "entry", "hold", "hold__slot")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        return {"notification_id": notification_id, "outcome": "missing"}
    if notification.status != NotificationStatus.PENDING:
        return {"notification_id": notification_id, "outcome": f"already_{notification.status}"}
    if notification.channel != Channel.EMAIL:
        _notification_finish(
            notification,
            status=NotificationStatus.SKIPPED,
            action="notification.skipped",
            error=f"channel {notification.channel} is not supported yet",
            counts_attempt=False,
        )
        return {"notification_id": notification_id, "outcome": "skipped"}
    hold = notification.hold
    if notification.kind == NotificationKind.OFFER and (
        hold is None or hold.status != HoldStatus.ACTIVE or hold.expires_at <= now
    ):
        # An offer that closed before it could be sent must not go out with live links.
        _notification_finish(
            notification,
            status=NotificationStatus.SKIPPED,
            action="notification.skipped",
            error="the offer closed before it was sent",
            counts_attempt=False,
        )
        return {"notification_id": notification_id, "outcome": "skipped"}

    message = emails.notification_message(notification)
    Notification.objects.filter(pk=notification.pk).update(subject=message.subject[:255])
    try:
        message.send()
    except Exception as exc:
        transient = emails.is_transient(exc)
        error = f"{type(exc).__name__}: {exc}"
        give_up = final_attempt or not transient
        _notification_finish(
            notification,
            status=NotificationStatus.FAILED if give_up else NotificationStatus.PENDING,
            action="notification.failed" if give_up else "notification.attempt_failed",
            error=error,
            data={"attempt": attempt, "transient": transient},
        )
        log.warning("notification %s attempt %s failed: %s", notification_id, attempt, error)
        if transient:
            raise NotificationTemporaryFailure(error) from exc
        raise
    _notification_finish(
        notification,
        status=NotificationStatus.SENT,
        action="notification.sent",
        data={"attempt": attempt},
    )
    return {"notification_id": notification_id, "outcome": "sent", "attempt": attempt}


def notification_retry(*, notification: Notification, actor: Actor):
    """Send a failed notification again with a fresh set of attempts. Returns the job (a
    send job already waiting or running for it is returned instead of a second one)."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification.pk)
        if notification.status in (NotificationStatus.SENT, NotificationStatus.SKIPPED):
            raise WaitlistError(
                f"the notification is {notification.status}; only failed or pending "
                "notifications can be retried",
                field="notification_id",
                code=notification.status,
            )
        if notification.status == NotificationStatus.FAILED:
            notification.status = NotificationStatus.PENDING
            notification.save(update_fields=["status", "updated_at"])
            audit_record(
                tenant_id=notification.tenant_id,
                actor=actor,
                action="notification.requeued",
                obj=notification,
                data={"from": NotificationStatus.FAILED, "to": NotificationStatus.PENDING},
            )
        return notification_enqueue(notification=notification)


# --- retention ------------------------------------------------------------------------------
def _delete_older_than(model, *, cutoff: datetime, batch_size: int, max_batches: int) -> int:
    table = model._meta.db_table
    sql = (
        f"DELETE FROM {table} WHERE id IN "
        f"(SELECT id FROM {table} WHERE created_at < %s ORDER BY id LIMIT %s)"
    )
    deleted = 0
    for _ in range(max_batches):
        # One short transaction per batch: a big backlog never holds locks for long.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [cutoff, batch_size])
            count = cursor.rowcount
        deleted += count
        if count < batch_size:
            break
    return deleted


def retention_cleanup(
    *,
    retention_days: int | None = None,
    now: datetime | None = None,
    batch_size: int = CLEANUP_BATCH,
    max_batches: int = CLEANUP_MAX_BATCHES,
) -> dict:
    """Delete notifications and audit logs older than the retention (WAITLIST_RETENTION_DAYS
    unless given)."""
    days = retention_days if retention_days is not None else settings.WAITLIST_RETENTION_DAYS
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise WaitlistError("must be a whole number of at least 1", field="retention_days")
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    notifications = _delete_older_than(
        Notification, cutoff=cutoff, batch_size=batch_size, max_batches=max_batches
    )
    audit_logs = _delete_older_than(
        AuditLog, cutoff=cutoff, batch_size=batch_size, max_batches=max_batches
    )
    result = {
        "retention_days": days,
        "cutoff": cutoff.isoformat(),
        "notifications_deleted": notifications,
        "audit_logs_deleted": audit_logs,
    }
    audit_record(tenant_id=None, actor=SYSTEM, action="cleanup.completed", data=result)
    return result
