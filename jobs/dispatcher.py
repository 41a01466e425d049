"""The dispatcher: publishes due and unpublished jobs, and reaps jobs whose worker died.

Runs as a thread in every worker's main process (and as ``manage.py run_dispatcher``).
Several dispatchers are safe: rows are taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
and a job published twice runs once (the start guard).
"""

import contextlib
import logging
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from jobs import broker, execution
from jobs.models import Job, JobStatus, QueueState, WorkerProcess

log = logging.getLogger(__name__)

BATCH = 500
_PUBLISH_FIELDS = ("id", "task", "args", "kwargs", "queue", "priority", "status")


def _locked(queryset):
    # SQLite has no row locks; its IMMEDIATE transactions serialise the writers instead.
    if connection.vendor == "postgresql":
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def _paused_filter() -> Q:
    paused = set(QueueState.objects.filter(paused=True).values_list("name", flat=True))
    if QueueState.ALL in paused:
        return Q(pk__in=[])
    return ~Q(queue__in=paused) if paused else Q()


def publish_due_delayed(now=None) -> int:
    """Delayed jobs whose time has come: waiting, then published (commit first, so a
    worker never receives a message for a row it cannot see yet)."""
    now = now or timezone.now()
    with transaction.atomic():
        jobs = list(
            _locked(
                Job.objects.filter(status=JobStatus.DELAYED, scheduled_for__lte=now)
                .order_by("priority", "scheduled_for")
                .only(*_PUBLISH_FIELDS)
            )[:BATCH]
        )
        if not jobs:
            return 0
        Job.objects.filter(id__in=[j.id for j in jobs]).update(
            status=JobStatus.WAITING, published_at=now
        )
    broker.publish_or_flag(jobs)
    return len(jobs)


def publish_flagged(now=None) -> int:
    """Waiting jobs flagged needs_publish (broker was down, message put back, data lost),
    in priority order, skipping paused queues."""
    now = now or timezone.now()
    with transaction.atomic():
        jobs = list(
            _locked(
                Job.objects.filter(status=JobStatus.WAITING, needs_publish=True)
                .filter(_paused_filter())
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


def recover_lost_broker_data() -> int:
    """If Redis lost its data (restart without persistence, flush), republish every
    waiting job. The epoch key vanishes with the data; the dispatcher that re-creates it
    does the republishing."""
    client = broker.redis_client()
    if not client.set(broker.EPOCH_KEY, uuid.uuid4().hex, nx=True):
        return 0
    count = Job.objects.filter(status=JobStatus.WAITING, needs_publish=False).update(
        needs_publish=True
    )
    if count:
        log.warning("broker data was lost; %d waiting job(s) will be published again", count)
    return count


def flag_stale_waiting(now=None) -> int:
    """Safety net for a message lost without a trace (a process killed between commit and
    publish, a message stuck in a dead worker's unacked set): a waiting job published long
    ago whose queue has nothing left in Redis is published again."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOBS_REPUBLISH_AFTER)
    stale = Job.objects.filter(
        status=JobStatus.WAITING, needs_publish=False, published_at__lt=cutoff
    )
    queues = set(stale.values_list("queue", flat=True).distinct())
    if not queues:
        return 0
    empty = [q for q, depth in broker.queue_depths(queues).items() if depth == 0]
    if not empty:
        return 0
    return stale.filter(queue__in=empty).update(needs_publish=True)


def reap_lost_jobs(now=None) -> dict[str, int]:
    """Active jobs whose process has no heartbeat, or whose hard time limit passed long
    ago, go back to waiting; a job that keeps killing its worker is failed (poison)."""
    now = now or timezone.now()
    timeout = timedelta(seconds=settings.JOBS_HEARTBEAT_TIMEOUT)
    live = set(
        WorkerProcess.objects.filter(last_seen__gte=now - timeout).values_list("name", flat=True)
    )
    candidates = Job.objects.filter(
        status=JobStatus.ACTIVE, started_at__lt=now - timeout
    ).values_list("id", "worker", "started_at", "hard_time_limit")[: BATCH * 10]
    outcome = {"requeued": 0, "failed": 0}
    for job_id, worker, started_at, limit in candidates:
        limit = limit or settings.CELERY_TASK_TIME_LIMIT
        overdue = started_at + timedelta(seconds=2 * limit) < now
        if worker in live and not overdue:
            continue
        status = execution.job_worker_lost(
            job_id=str(job_id),
            worker=worker,
            reason="hard time limit long passed" if overdue else "no heartbeat",
            poison_threshold=settings.JOBS_POISON_THRESHOLD,
        )
        if status == JobStatus.WAITING:
            outcome["requeued"] += 1
        elif status == JobStatus.FAILED:
            outcome["failed"] += 1
    if any(outcome.values()):
        log.warning("reaper: %s", outcome)
    return outcome


def beat(name: str, role: str) -> None:
    now = timezone.now()
    host, _, pid = name.rpartition(":")
    WorkerProcess.objects.update_or_create(
        name=name,
        defaults={"hostname": host, "pid": int(pid), "role": role, "last_seen": now},
        create_defaults={
            "hostname": host,
            "pid": int(pid),
            "role": role,
            "last_seen": now,
            "started_at": now,
        },
    )


class Loop(threading.Thread):
    """A daemon thread running ``step`` every ``interval`` seconds until stopped."""

    def __init__(self, name: str, interval: float, step):
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.step = step
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.step()
            except Exception:
                log.exception("%s: step failed; retrying", self.name)
                close_old_connections()
                with contextlib.suppress(Exception):
                    connection.close()
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


class Dispatcher:
    """One tick publishes due work; every few seconds it also runs the slower sweeps."""

    SWEEP_EVERY = 5.0

    def __init__(self):
        self._last_sweep = 0.0

    def tick(self) -> None:
        while publish_due_delayed() == BATCH:
            pass
        while publish_flagged() == BATCH:
            pass
        if time.monotonic() - self._last_sweep >= self.SWEEP_EVERY:
            self._last_sweep = time.monotonic()
            recover_lost_broker_data()
            reap_lost_jobs()
            flag_stale_waiting()
