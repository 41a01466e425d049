"""The expired-holds sweep: release every live hold whose time ran out, in set-based
batches, and start one cascade per released slot."""

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from jobs import JobSpec, enqueue_many
from waitlist import tasks
from waitlist.models import AuditLog, CascadeReason, Hold, HoldStatus
from waitlist.services.audit import SYSTEM, audit_row
from waitlist.services.cascade import cascade_kwargs

EXPIRED_HOLDS_BATCH = 500
EXPIRED_HOLDS_MAX_BATCHES = 20


def expired_holds_enqueue(*, tenant_id: int | None):
    """One live sweep per scope: a trigger while one is waiting or running returns that one."""
    return tasks.process_expired_holds.apply_async(
        kwargs={"tenant_id": tenant_id},
        job_key=f"waitlist.expired-holds:{tenant_id or 'all'}",
    )


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
            audit_row(
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
    cascade_task = tasks.notification_cascade.name
    while batches < max_batches:
        batches += 1
        with transaction.atomic():
            rows = _release_expired_batch(tenant_id=tenant_id, now=now, limit=batch_size)
            enqueue_many(
                JobSpec(
                    task=cascade_task,
                    kwargs=cascade_kwargs(
                        slot_id=slot_id, previous_entry_id=entry_id, reason=CascadeReason.EXPIRED
                    ),
                )
                for _hold_id, _tenant, slot_id, entry_id in rows
            )
        released += len(rows)
        if len(rows) < batch_size:
            break
    return {"released": released, "cascades": released, "batches": batches, "tenant_id": tenant_id}
