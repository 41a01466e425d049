"""The worker's event-loop timer drops its cancelled entries every few seconds.

Celery's prefork pool arms a time-limit timer on the main process's event loop for every
job it starts (``celery/concurrency/asynpool.py``, ``on_timeout_set``: the soft limit, and
the hard one once the soft one fires) and cancels it when the job ends. kombu's timer only
marks a cancelled entry (``entry.canceled = True``) and leaves it in its heap until its due
time, so with the default limits (240 s / 300 s) the main process holds every job finished
in the last four minutes: about 0.55 KB of RSS each (bench 12b: +11 MiB over 20,000 jobs),
hundreds of MB on a worker running a thousand jobs a second.

A consumer bootstep asks the hub to rebuild the heap without the cancelled entries every
``JOBS_TIMER_COMPACT_INTERVAL`` seconds (0: never). The rebuild runs on the event loop
itself, between two timer callbacks, so nothing else touches the heap meanwhile. It keeps
the same list object, which kombu's hub and its scheduler hold on to (``Hub.create_loop``
keeps ``timer._queue``), and never uses ``Timer.clear()``, which would drop live entries
(the time limits of running jobs, the pool's own periodic timers).

A consumer bootstep rather than a ``worker_ready`` receiver: after a broker connection
loss Celery cancels every timer entry added since the consumer started connecting, and
starts the consumer's steps again, which arms this one again. Pools without a hub (the
event loop runs only where the transport is asynchronous and the pool is not green) get
no step work at all; the solo and threads pools do have a hub but arm no time limits, so
there the rebuild finds nothing to drop.

``celery inspect timer_heap`` reports the heap's size and how many of its entries are
cancelled, for operators and for the tests.
"""

import heapq
import logging
from typing import Any

from celery import bootsteps
from celery.worker.control import inspect_command
from kombu.asynchronous.timer import Timer

from jobs.conf import jobs_settings

log = logging.getLogger(__name__)

# The rebuild is O(n) over the heap (a scan, a new list, heapify), and the heap holds about
# the jobs finished since the last rebuild plus one entry per running job. Below this
# share of cancelled entries it is skipped: a rebuild would free little, and a heap of
# long-running jobs' live limits is not scanned again and again for nothing.
MIN_CANCELLED_SHARE = 0.5


def _heap(timer: Any) -> list | None:
    """kombu's timer heap, or None for any other timer (eventlet's, gevent's)."""
    if isinstance(timer, Timer) and isinstance(getattr(timer, "_queue", None), list):
        return timer._queue
    return None


def heap_counts(timer: Any) -> dict[str, int]:
    heap = _heap(timer)
    if heap is None:
        return {"entries": 0, "cancelled": 0}
    return {"entries": len(heap), "cancelled": sum(1 for s in heap if s.entry.canceled)}


def compact(timer: Any) -> int:
    """Remove the cancelled entries from ``timer``'s heap in place; return how many."""
    heap = _heap(timer)
    if not heap:
        return 0
    live = [s for s in heap if not s.entry.canceled]
    dropped = len(heap) - len(live)
    if dropped < len(heap) * MIN_CANCELLED_SHARE:
        return 0
    # In place: the hub's loop and kombu's scheduler generator hold this very list. Removing
    # items breaks the heap order, which heapify restores (O(n)).
    heap[:] = live
    heapq.heapify(heap)
    return dropped


class TimerCompaction(bootsteps.StartStopStep):
    """Consumer step: compact the hub's timer heap every ``JOBS_TIMER_COMPACT_INTERVAL`` s.

    Fifteen seconds by default: the heap then holds at most about fifteen seconds of
    finished jobs (15,000 entries, about 8 MB, at 1,000 jobs/s) instead of five minutes, and
    a rebuild of that size takes a few milliseconds of the event loop four times a minute.
    A much shorter interval would spend event-loop time for little more memory back.
    """

    label = "jobs timer compaction"

    def __init__(self, c: Any, **kwargs: Any) -> None:
        self.tref: Any = None
        super().__init__(c, **kwargs)

    def include_if(self, c: Any) -> bool:
        return getattr(c, "hub", None) is not None and jobs_settings().timer_compact_interval > 0

    def start(self, c: Any) -> None:
        timer = c.hub.timer
        if _heap(timer) is None:
            return
        self.tref = c.hub.call_repeatedly(
            jobs_settings().timer_compact_interval, _compact_and_log, timer
        )

    def stop(self, c: Any) -> None:
        # Also runs before a restart after a connection loss; start() arms a new one.
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop


def _compact_and_log(timer: Any) -> None:
    dropped = compact(timer)
    if dropped:
        log.debug("timer heap: dropped %d cancelled entries, %d left", dropped, len(timer))


def install(app: Any) -> None:
    """Add the step to ``app``'s consumer; before the worker builds its consumer."""
    app.steps["consumer"].add(TimerCompaction)


@inspect_command()
def timer_heap(state: Any, **kwargs: Any) -> dict[str, int]:
    """The main process's event-loop timer: entries in its heap, and how many are cancelled
    (kept until compacted, see jobs/runtime/timer_compaction.py)."""
    hub = getattr(state.consumer, "hub", None)
    return heap_counts(hub.timer if hub is not None else None)
