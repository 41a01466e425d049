"""What the platform adds to a Celery worker: heartbeats and the dispatcher thread.

Every worker process (the main process and each pool process) writes a heartbeat row; the
main process also runs the dispatcher. Nothing here runs in web or beat processes.
"""

import logging

from celery.signals import worker_process_init, worker_ready, worker_shutdown
from django.conf import settings

log = logging.getLogger(__name__)
_loops = []


def _start_heartbeat(role: str) -> None:
    from jobs.dispatcher import Loop, beat
    from jobs.task import process_name

    name = process_name()
    loop = Loop("jobs-heartbeat", settings.JOBS_HEARTBEAT_INTERVAL, lambda: beat(name, role))
    loop.start()
    _loops.append(loop)


@worker_process_init.connect
def on_pool_process_start(**kwargs) -> None:
    _start_heartbeat("child")


@worker_ready.connect
def on_worker_ready(sender=None, **kwargs) -> None:
    from jobs.dispatcher import Dispatcher, Loop

    _start_heartbeat("main")
    if settings.JOBS_DISPATCHER_IN_WORKER:
        loop = Loop("jobs-dispatcher", settings.JOBS_DISPATCH_INTERVAL, Dispatcher().tick)
        loop.start()
        _loops.append(loop)


@worker_shutdown.connect
def on_worker_shutdown(**kwargs) -> None:
    for loop in _loops:
        loop.stop()
