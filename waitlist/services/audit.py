"""Who changed what: the actor of a change, its audit row, and the status change that always
writes one. Every row is written in the caller's transaction, with the change it records."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from waitlist.models import AuditLog, Hold, Notification, Slot, WaitlistEntry


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


def audit_row(
    *,
    tenant_id: int | None,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int | None,
    data: dict | None = None,
    now: datetime | None = None,
) -> AuditLog:
    """An unsaved audit row (for ``bulk_create``)."""
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
    row = audit_row(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "system",
        object_id=obj.pk if obj is not None else None,
        data=data,
    )
    row.save(force_insert=True)
    return row


def status_change(
    obj: Slot | WaitlistEntry | Hold | Notification,
    *,
    to: str,
    actor: Actor,
    action: str,
    now: datetime | None = None,
    data: dict | None = None,
) -> str:
    """Move a locked row to status ``to`` and audit it as ``{"from", "to", **data}``. A hold
    is resolved at ``now`` (it has no ``updated_at``). Returns the status it left."""
    previous = obj.status
    obj.status = to
    if isinstance(obj, Hold):
        obj.resolved_at = now or timezone.now()
        obj.save(update_fields=["status", "resolved_at"])
    else:
        obj.save(update_fields=["status", "updated_at"])
    audit_record(
        tenant_id=obj.tenant_id,
        actor=actor,
        action=action,
        obj=obj,
        data={"from": previous, "to": to, **(data or {})},
    )
    return previous
