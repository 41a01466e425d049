"""The stager (Oban's Stager): makes due work runnable and rings the broker's bell.

Delayed jobs whose time has come become ``waiting`` and are published; waiting jobs
flagged ``needs_publish`` (the broker was down, a message was put back or lost) are
published again, in priority order, skipping paused queues. Runs every tick of the
maintenance cycle in every worker's main process; a cycle that knows the next delayed job
is due before its next tick wakes up for it (``next_delayed_due``). Several stagers are
safe: rows are taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and a job published
twice runs once.
"""

import logging
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from jobs.ledger import broker, sql
from jobs.ledger.models import Job, JobStatus
from jobs.ledger.priorities import Priority
from jobs.ledger.queues import unpaused_filter

log = logging.getLogger(__name__)

BATCH = 500
_PUBLISH_FIELDS = ("id", "task", "args", "kwargs", "queue", "priority", "status", "hard_time_limit")


def _locked(queryset):
    # SQLite has no row locks; its IMMEDIATE transactions serialise the writers instead.
    if connection.vendor == "postgresql":
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def stage_due_delayed(now=None, *, due_by=None, jobs=None) -> list[Job]:
    """Delayed jobs due by ``due_by`` (default: now) become waiting, a batch at a time, of
    ``jobs`` (ids) only when given; returns them. ``jobs.testing`` stages without
    publishing, and with a ``due_by`` of its own to run delayed jobs early."""
    now = now or timezone.now()
    due = Job.objects.filter(status=JobStatus.DELAYED, scheduled_for__lte=due_by or now)
    if jobs is not None:
        due = due.filter(id__in=jobs)
    with transaction.atomic():
        staged = list(
            _locked(due.order_by("priority", "scheduled_for").only(*_PUBLISH_FIELDS))[:BATCH]
        )
        if staged:
            Job.objects.filter(id__in=[j.id for j in staged]).update(
                status=JobStatus.WAITING, published_at=now
            )
    return staged


def publish_due_delayed(now=None) -> int:
    """Delayed jobs whose time has come: waiting, then published (commit first, so a
    worker never receives a message for a row it cannot see yet)."""
    jobs = stage_due_delayed(now)
    if jobs:
        broker.publish_or_flag(jobs)
    return len(jobs)


def next_delayed_due() -> datetime | None:
    """When the earliest delayed job is due (None: no delayed job): the stager sleeps until
    then instead of waiting for its next tick."""
    if connection.vendor != "postgresql":
        return Job.objects.filter(status=JobStatus.DELAYED).aggregate(due=Min("scheduled_for"))[
            "due"
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql.NEXT_DELAYED_DUE, [[int(p) for p in Priority]])
        return cursor.fetchone()[0]


def publish_flagged(now=None) -> int:
    """Waiting jobs flagged needs_publish (broker was down, message put back, data lost),
    in priority order, skipping paused queues."""
    now = now or timezone.now()
    with transaction.atomic():
        jobs = list(
            _locked(
                Job.objects.filter(status=JobStatus.WAITING, needs_publish=True)
                .filter(unpaused_filter())
                .order_by("priority", "created_at")
                .only(*_PUBLISH_FIELDS)
            )[:BATCH]
        )
        if not jobs:
            return 0
        Job.objects.filter(id__in=[j.id for j in jobs]).update(
            needs_publish=False, published_at=now
        )
    broker.publish_or_flag(jobs)
    return len(jobs)
