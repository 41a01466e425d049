"""What the platform adds to a Celery worker, connected to Celery's worker signals.

Every worker process (the main process and each pool process) writes a heartbeat row; the
main process also runs the maintenance cycle (``jobs.runtime.loops``), and marks a clean
shutdown so that its silence is not reported as a worker down. Nothing here runs in web or
beat processes: the receivers only fire inside a worker.
"""

import contextlib
import logging
from typing import Any

from celery.signals import (
    task_postrun,
    task_unknown,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)
from django.db import connections

from jobs.conf import jobs_settings
from jobs.ledger.operations import job_record_unknown
from jobs.ledger.workers import (
    heartbeat_record,
    process_name,
    remember_clean_shutdown,
    worker_describe,
)
from jobs.runtime import timer_compaction
from jobs.runtime.loops import Loop, MaintenanceCycle
from jobs.runtime.revoke import install_worker_revoke

log = logging.getLogger(__name__)
_loops: list[Loop] = []


def _start_heartbeat(role: str) -> None:
    name = process_name()
    loop = Loop(
        "jobs-heartbeat",
        jobs_settings().heartbeat_interval,
        lambda: heartbeat_record(name, role),
    )
    loop.start()
    _loops.append(loop)


@worker_init.connect
def on_worker_start(**kwargs: object) -> None:
    """A worker keeps one database connection per process, whatever ``DB_POOL`` says.

    The connection pool is the web's (threads of one process sharing a few connections).
    Celery's Django fixup closes it in every forked pool process, after which each query
    failed with "the pool is closed" and the ledger waited for a database that was up. An
    environment that sets ``DB_POOL=1`` for every process (as the web entry points do) must
    not break the workers started from it.
    """
    for alias in connections:
        options = connections.settings[alias].get("OPTIONS", {})
        if options.pop("pool", None):
            connection = connections[alias]
            if hasattr(connection, "close_pool"):
                connection.close()
                with contextlib.suppress(KeyError):
                    connection.close_pool()


@worker_init.connect
def add_timer_compaction(sender: Any = None, **kwargs: object) -> None:
    """The main process's event loop drops the time-limit timers of finished jobs. Sent
    before the worker builds its consumer, so the consumer step is in time."""
    if sender is not None:
        timer_compaction.install(sender.app)


@worker_process_init.connect
def on_pool_process_start(**kwargs: object) -> None:
    _start_heartbeat("child")


@worker_ready.connect
def on_worker_ready(sender: object = None, **kwargs: object) -> None:
    install_worker_revoke()
    _start_heartbeat("main")
    try:
        worker_describe(process_name(), queues=_consumed_queues(sender), pool=_pool_of(sender))
    except Exception:
        log.warning("could not record this worker's queues and pool", exc_info=True)
    if jobs_settings().dispatcher_in_worker:
        cycle = MaintenanceCycle()
        loop = Loop(
            "jobs-maintenance",
            jobs_settings().dispatch_interval,
            cycle.tick,
            sooner=cycle.seconds_to_next_due,
        )
        loop.start()
        _loops.append(loop)


def _consumed_queues(consumer: Any) -> list[str]:
    with contextlib.suppress(Exception):
        return sorted(q.name for q in consumer.task_consumer.queues)
    return []


def _pool_of(consumer: Any) -> str:
    """ "prefork x2", "solo x1", "threads x8": the pool's kind and its size."""
    pool = getattr(consumer, "pool", None)
    if pool is None:
        return ""
    kind = type(pool).__module__.rsplit(".", 1)[-1]
    size = getattr(pool, "limit", None) or getattr(consumer.controller, "concurrency", None)
    return f"{kind} x{size}" if size else kind


@worker_shutdown.connect
def on_worker_shutdown(**kwargs: object) -> None:
    for loop in _loops:
        loop.stop()
    try:
        remember_clean_shutdown(process_name())
    except Exception:
        log.warning("could not record the clean shutdown of this worker", exc_info=True)


@task_postrun.connect
def drop_exception_traceback(task: Any = None, retval: object = None, **kwargs: object) -> None:
    """A job that ends in an exception (``Ignore`` for a duplicate message, a deferral, a
    put-back or a scheduled retry; a failure) leaves no garbage for the cyclic collector.

    Celery keeps the ``ExceptionInfo`` it builds in a local of its tracer function, whose
    frame the exception's own traceback holds: a reference cycle that only a full garbage
    collection frees. On Python 3.11+ billiard's ``ExceptionInfo`` copies every frame's
    ``co_positions`` (a tuple per instruction of Celery's large tracer: some hundred KB),
    and tuples of ints do not count towards triggering a full collection, so a pool
    process grew by about 250 MiB over 1,500 duplicate messages (a broker flush makes the
    lifeline publish every waiting job again) before one ran, and kept the pages. The
    outcome is recorded by now; without its traceback the cycle is gone and reference
    counting frees it all when the tracer returns. An eager call (``apply``) keeps its
    traceback: its caller may raise the exception again."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    exc, hops = retval, 0
    while isinstance(exc, BaseException) and hops < 8:  # the __context__ chain, bounded
        exc.__traceback__ = None
        exc, hops = exc.__context__ or exc.__cause__, hops + 1


@task_unknown.connect
def on_unknown_task(
    sender: object = None, message: Any = None, name: str = "", id: str = "", **kwargs: object
) -> None:
    """Celery discards a message for a task this worker does not register (its log says
    so); the ledger keeps a failed row saying why, retryable once the task is deployed."""
    args: list = []
    task_kwargs: dict = {}
    with contextlib.suppress(Exception):  # an undecodable body still gets its row
        body = message.decode()
        args, task_kwargs = list(body[0]), dict(body[1])
    queue = ((message.delivery_info if message is not None else None) or {}).get("routing_key", "")
    reason = (
        f"NotRegistered: no worker here knows task {name!r} (queue {queue!r}); Celery "
        "discarded the message. Deploy the task, then retry this job."
    )
    try:
        job_record_unknown(
            job_id=id, task=name, queue=queue, args=args, kwargs=task_kwargs, reason=reason
        )
    except Exception:
        log.exception("could not record the unknown task message %s in the ledger", id)
