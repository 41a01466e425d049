"""The retention cleanup: delete notifications and audit logs older than the retention, in
bounded batches."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from waitlist import tasks
from waitlist.errors import WaitlistError
from waitlist.models import AuditLog, Notification
from waitlist.services.audit import SYSTEM, audit_record

CLEANUP_BATCH = 5000
CLEANUP_MAX_BATCHES = 200


def cleanup_enqueue(*, retention_days: int | None):
    return tasks.cleanup.apply_async(
        kwargs={"retention_days": retention_days}, job_key="waitlist.cleanup"
    )


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
