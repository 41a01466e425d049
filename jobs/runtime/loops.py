"""The background threads of a worker's main process, and what one maintenance cycle does.

A cycle stages due work every tick (``jobs.runtime.stager``) and, every few seconds, runs
the slower sweeps: broker-data recovery (``jobs.runtime.broker_recovery``), the rescue of
jobs whose worker died (``jobs.runtime.lifeline``) and the fold of the finished-job counts'
log of changes (``jobs.ledger.status_counts``).
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.db import close_old_connections, connection
from django.utils import timezone

from jobs.ledger.attempts import connection_lost
from jobs.ledger.status_counts import status_counts_fold
from jobs.runtime import database_outage
from jobs.runtime.broker_recovery import flag_stale_waiting, recover_lost_broker_data
from jobs.runtime.lifeline import reap_lost_jobs
from jobs.runtime.stager import BATCH, next_delayed_due, publish_due_delayed, publish_flagged

log = logging.getLogger(__name__)

# Slower steps the layers above add to every maintenance cycle (the metrics rollup): the
# runtime cannot import them, so they register here when the app starts.
_extra_sweeps: list[Callable[[], object]] = []


def register_sweep(step: Callable[[], object]) -> None:
    """Run ``step`` with the cycle's slower sweeps (every few seconds); once per step."""
    if step not in _extra_sweeps:
        _extra_sweeps.append(step)


class Loop(threading.Thread):
    """A daemon thread running ``step`` every ``interval`` seconds until stopped; sooner
    when ``sooner()`` says the next step is due earlier (seconds from now, or None)."""

    def __init__(
        self,
        name: str,
        interval: float,
        step: Callable[[], object],
        *,
        sooner: Callable[[], float | None] | None = None,
    ):
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.step = step
        self.sooner = sooner
        self.stopped = threading.Event()

    def _pause(self) -> float:
        due_in = self.sooner() if self.sooner is not None else None
        if due_in is None:
            return self.interval
        # A floor: a due job another stager holds (SKIP LOCKED) is not polled in a spin.
        return max(0.002, min(self.interval, due_in))

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.step()
            except Exception as exc:
                if connection_lost(exc):
                    database_outage.note_failure(exc)  # one warning per outage
                else:
                    log.exception("%s: step failed; retrying", self.name)
                # A dropped database connection is the usual cause: start the next step on
                # a fresh one rather than failing every step after it.
                close_old_connections()
                with contextlib.suppress(Exception):
                    connection.close()
            else:
                database_outage.note_success()
            self.stopped.wait(self._pause())

    def stop(self) -> None:
        self.stopped.set()


class MaintenanceCycle:
    """One tick publishes due work; every few seconds it also runs the slower sweeps."""

    SWEEP_EVERY = 5.0

    def __init__(self) -> None:
        self._last_sweep = 0.0
        self._next_due: datetime | None = None

    def tick(self) -> None:
        self._next_due = None
        # One index probe per tick; the staging transaction only when something is due.
        next_due = next_delayed_due()
        if next_due is not None and next_due <= timezone.now():
            while publish_due_delayed() == BATCH:
                pass
            next_due = next_delayed_due()
        # The loop sleeps until then if it comes before the next tick: a delayed job is
        # published when due, not up to a tick late.
        self._next_due = next_due
        while publish_flagged() == BATCH:
            pass
        if time.monotonic() - self._last_sweep >= self.SWEEP_EVERY:
            self._last_sweep = time.monotonic()
            recover_lost_broker_data()
            reap_lost_jobs()
            flag_stale_waiting()
            # Readers are exact either way; folding keeps the log they add up short.
            status_counts_fold()
            for step in list(_extra_sweeps):
                try:
                    step()
                except Exception as exc:
                    if connection_lost(exc):
                        raise  # the loop waits out the outage
                    # One failing extra step must not stop the rescue of jobs.
                    log.exception("maintenance step %s failed", getattr(step, "__name__", step))

    def seconds_to_next_due(self) -> float | None:
        """How long until the earliest delayed job is due, as the last tick saw it; a
        millisecond more, so that the tick that wakes for it finds it due."""
        if self._next_due is None:
            return None
        return (self._next_due - timezone.now()).total_seconds() + 0.001
