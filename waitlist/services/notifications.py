"""Customer notifications: queue one for a hold, send it (outside any transaction) with its
retry rules, and send a failed one again on request."""

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from waitlist import emails, tasks
from waitlist.errors import NotificationTemporaryFailure, WaitlistError
from waitlist.models import (
    Channel,
    Hold,
    HoldStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    WaitlistEntry,
)
from waitlist.services.audit import SYSTEM, Actor, audit_record, status_change

log = logging.getLogger(__name__)


def notification_enqueue(*, notification: Notification):
    """Send (or resend) a notification. The job key makes a second enqueue of a notification
    whose send job is still live return that job instead of sending twice."""
    return tasks.send_notification.apply_async(
        kwargs={"notification_id": notification.pk},
        job_key=f"waitlist.notification:{notification.pk}",
    )


def notification_create(*, hold: Hold, entry: WaitlistEntry, kind: str) -> Notification:
    """Queue a notification about ``hold`` to ``entry`` and its send job, in the caller's
    transaction."""
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


def _notification_skip(notification: Notification, *, why: str) -> dict:
    _notification_finish(
        notification,
        status=NotificationStatus.SKIPPED,
        action="notification.skipped",
        error=why,
        counts_attempt=False,
    )
    return {"notification_id": notification.pk, "outcome": "skipped"}


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
        return _notification_skip(
            notification, why=f"channel {notification.channel} is not supported yet"
        )
    hold = notification.hold
    if notification.kind == NotificationKind.OFFER and (
        hold is None or hold.status != HoldStatus.ACTIVE or hold.expires_at <= now
    ):
        # An offer that closed before it could be sent must not go out with live links.
        return _notification_skip(notification, why="the offer closed before it was sent")

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
            status_change(
                notification,
                to=NotificationStatus.PENDING,
                actor=actor,
                action="notification.requeued",
            )
        return notification_enqueue(notification=notification)
