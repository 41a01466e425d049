"""Job status changes for WebSocket clients, without a single extra write on the workers.

Workers already send Celery task events (``-E``; the task uuid is the job id) and the
platform's ``task-progress`` event. Each web process that serves ``/ws/jobs/`` runs one
relay on its event loop:

- a thread consumes the events with ``celery.events.EventReceiver`` (its own auto-deleted
  queue on the events exchange, so every web process sees every event);
- the loop reads the ledger rows of the jobs the events name (one SELECT per batch) and
  sends the authoritative state to channel-layer groups that only this process's consumers
  join (so N web processes do not deliver each event N times);
- a retry or a cancelled claim ends with ``Ignore`` and sends no event, so the jobs seen
  starting are re-read every JOBS_WS_POLL_INTERVAL seconds until they leave ``active``.
"""

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections import Counter

from celery import current_app
from celery.events import EventReceiver
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from jobs.conf import jobs_settings
from jobs.ledger.models import Job, JobStatus

log = logging.getLogger(__name__)

TASK_EVENTS = {
    "task-started",
    "task-succeeded",
    "task-failed",
    "task-retried",
    "task-revoked",
    "task-rejected",
    "task-progress",
}
SNAPSHOT_FIELDS = (
    "id",
    "task",
    "queue",
    "status",
    "progress",
    "progress_message",
    "worker",
    "attempts",
    "max_attempts",
    "error",
    "created_at",
    "scheduled_for",
    "started_at",
    "finished_at",
)


def job_snapshots(job_ids: list[str]) -> dict[str, dict]:
    """The current state of these jobs, keyed by id (unknown ids are left out)."""
    valid = []
    for job_id in job_ids:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            valid.append(uuid.UUID(str(job_id)))
    if not valid:
        return {}
    rows = Job.objects.filter(id__in=valid).values(*SNAPSHOT_FIELDS)
    return {str(row["id"]): _jsonable(row) for row in rows}


def _jsonable(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if key == "id":
            out["job_id"] = str(value)
        elif hasattr(value, "isoformat"):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


class _Receiver(EventReceiver):
    """Stops when its relay stops or its event loop is gone; reports when it listens."""

    relay: "EventRelay"
    iterations = 0

    def on_iteration(self):
        if self.relay.stopped.is_set() or self.relay.loop.is_closed():
            self.should_stop = True
        # Redis subscribes to the events exchange in the first drain_events call, not when
        # the consumer is declared: only from the second iteration on is nothing missed.
        self.iterations += 1
        if self.iterations == 2:
            self.relay.bound.set()


class EventRelay:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.token = uuid.uuid4().hex[:16]
        self.bound = threading.Event()
        self.stopped = threading.Event()
        self.events: asyncio.Queue = asyncio.Queue()
        # job id -> status last sent, for the jobs seen running (see the module docstring).
        self.watching: dict[str, str] = {}
        self.layer = get_channel_layer()
        self._tasks: list[asyncio.Task] = []
        # Who listens in this process: nothing is read or sent for events nobody follows.
        self.listening_all = 0
        self.following: Counter[str] = Counter()

    # --- groups ----------------------------------------------------------------------------
    @property
    def all_group(self) -> str:
        return f"jobs-events.{self.token}"

    def job_group(self, job_id: str) -> str:
        return f"jobs-job.{job_id}.{self.token}"

    # --- listeners (consumers of this process, on this loop) --------------------------------
    def listen_all(self, delta: int) -> None:
        self.listening_all = max(0, self.listening_all + delta)

    def follow(self, job_id: str) -> None:
        self.following[job_id] += 1

    def unfollow(self, job_id: str) -> None:
        self.following[job_id] -= 1
        if self.following[job_id] <= 0:
            del self.following[job_id]

    def wanted(self, job_id: str) -> bool:
        return bool(self.listening_all or job_id in self.following)

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        threading.Thread(target=self._receive, name="jobs-event-relay", daemon=True).start()
        self._tasks = [
            self.loop.create_task(self._forward()),
            self.loop.create_task(self._poll()),
        ]

    def stop(self) -> None:
        self.stopped.set()
        for task in self._tasks:
            task.cancel()

    async def wait_bound(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.bound.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.bound.is_set()

    # --- the receiving thread ----------------------------------------------------------------
    def _receive(self) -> None:
        backoff = 0.5
        while not self.stopped.is_set() and not self.loop.is_closed():
            try:
                with current_app.connection_for_read() as connection:
                    receiver = _Receiver(
                        connection, handlers={"*": self._on_event}, app=current_app
                    )
                    receiver.relay = self
                    for _ in receiver.consume(
                        limit=None, timeout=None, safety_interval=0.25, wakeup=False
                    ):
                        backoff = 0.5
            except Exception as exc:
                self.bound.clear()
                if self.stopped.is_set() or self.loop.is_closed():
                    break
                log.warning("job event relay: %s; reconnecting in %.1fs", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _on_event(self, event: dict) -> None:
        if event.get("type") not in TASK_EVENTS or not event.get("uuid"):
            return
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:  # the loop is closed: this relay is finished
            self.stopped.set()

    # --- the loop side -----------------------------------------------------------------------
    async def _forward(self) -> None:
        while True:
            batch = [await self.events.get()]
            while not self.events.empty() and len(batch) < 200:
                batch.append(self.events.get_nowait())
            try:
                await self._send_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job event relay: could not forward %d event(s)", len(batch))

    async def _send_batch(self, batch: list[dict]) -> None:
        batch = [e for e in batch if self.wanted(str(e["uuid"]))]
        if not batch:
            return
        ids = list(dict.fromkeys(str(e["uuid"]) for e in batch))
        snapshots = await database_sync_to_async(job_snapshots)(ids)
        for event in batch:
            job_id = str(event["uuid"])
            snapshot = snapshots.get(job_id)
            if snapshot is None:
                continue  # a plain Celery task, not a ledger job
            kind = event["type"]
            message = {**snapshot, "event": kind, "timestamp": event.get("timestamp")}
            if kind == "task-started":
                await self._started(job_id, snapshot, message)
                continue
            if kind == "task-progress":
                message["status"] = JobStatus.ACTIVE
                message["progress"] = event.get("progress", snapshot["progress"])
                message["progress_message"] = event.get("message", snapshot["progress_message"])
            else:
                self.watching.pop(job_id, None)
            await self.publish(job_id, message)

    async def _started(self, job_id: str, snapshot: dict, message: dict) -> None:
        status = snapshot["status"]
        if status in (JobStatus.WAITING, JobStatus.ACTIVE):
            # The event can overtake the claim's commit: the job is running regardless.
            self.watching[job_id] = JobStatus.ACTIVE
            await self.publish(job_id, {**message, "status": JobStatus.ACTIVE})
        elif not snapshot["started_at"]:
            # Never ran: cancelled before its message arrived, or held back by a rate limit.
            await self.publish(job_id, message)
        else:
            # The attempt ran and ended before this batch was read (a fast task). Show it
            # running, then where it went; completed and failed have events of their own.
            await self.publish(job_id, {**message, "status": JobStatus.ACTIVE})
            if status not in (JobStatus.COMPLETED, JobStatus.FAILED):
                await self.publish(
                    job_id, {**snapshot, "event": "ledger", "timestamp": time.time()}
                )

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(jobs_settings().ws_poll_interval)
            for job_id in [j for j in self.watching if not self.wanted(j)]:
                del self.watching[job_id]
            if not self.watching:
                continue
            try:
                snapshots = await database_sync_to_async(job_snapshots)(list(self.watching))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job event relay: could not re-read running jobs")
                continue
            for job_id, last in list(self.watching.items()):
                snapshot = snapshots.get(job_id)
                if snapshot is None:
                    self.watching.pop(job_id, None)
                    continue
                if snapshot["status"] != JobStatus.ACTIVE:
                    self.watching.pop(job_id, None)
                if snapshot["status"] != last:
                    await self.publish(
                        job_id, {**snapshot, "event": "ledger", "timestamp": time.time()}
                    )

    async def publish(self, job_id: str, message: dict) -> None:
        payload = {"type": "job.update", "job": message}
        if self.listening_all:
            await self.layer.group_send(self.all_group, payload)
        if job_id in self.following:
            await self.layer.group_send(self.job_group(job_id), payload)


_relay: EventRelay | None = None


async def ensure_relay() -> EventRelay:
    """This event loop's relay, started on first use (no WebSocket client, no relay)."""
    global _relay
    loop = asyncio.get_running_loop()
    if _relay is None or _relay.loop is not loop or _relay.stopped.is_set():
        if _relay is not None:
            _relay.stop()
        _relay = EventRelay(loop)
        _relay.start()
    if not await _relay.wait_bound():
        log.warning("job event relay is not connected to the broker yet")
    return _relay
