"""Celery's revoke, made durable by the ledger.

Stock Celery keeps revoked ids in each worker's memory: a worker that was down, or that
restarts, runs the job anyway, and a delayed job that sits in the ledger (not in any worker)
is never seen at all. Here every door to revoke also cancels the job in the ledger:

- ``jobs.runtime.control.LedgerControl`` is the project's Celery control class
  (``config/celery.py``), so ``AsyncResult(id).revoke()``, ``app.control.revoke()`` and
  Flower's revoke button cancel the ledger row before broadcasting, even when no worker is
  listening;
- ``install_worker_revoke`` wraps the worker's own ``revoke`` remote-control command, which
  ``celery -A config control revoke <id>`` and other producers' broadcasts reach.

``terminate=True`` on a running job is Celery's; the job then ends ``cancelled`` (see
``LedgerRequest.on_failure``).
"""

import logging
from typing import Any

from celery.utils.functional import maybe_list
from celery.worker import control as worker_control

from jobs.ledger.operations import jobs_revoke

log = logging.getLogger(__name__)


def cancel_in_ledger(task_id: Any) -> None:
    try:
        cancelled = jobs_revoke(job_ids=[str(i) for i in maybe_list(task_id) or []])
    except Exception:  # the broadcast still goes out; the stager's claim guard is the backstop
        log.exception("revoke of %s could not be recorded in the ledger", task_id)
        return
    if cancelled:
        log.info("revoke: %d job(s) cancelled in the ledger", cancelled)


_installed = False


def install_worker_revoke() -> None:
    """Wrap the worker's ``revoke`` command once (it is a process-wide registry)."""
    global _installed
    if _installed:
        return
    celery_revoke = worker_control.Panel.data["revoke"]

    def revoke(state: Any, task_id: Any, terminate: bool = False, signal: Any = None, **kw: Any):
        cancel_in_ledger(task_id)
        return celery_revoke(state, task_id, terminate=terminate, signal=signal, **kw)

    revoke.__doc__ = celery_revoke.__doc__
    worker_control.Panel.data["revoke"] = revoke
    _installed = True
