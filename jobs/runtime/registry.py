"""Looking tasks up by name, and enqueueing many jobs with each task's own defaults."""

from collections.abc import Iterable

from celery import current_app

from jobs.ledger import enqueue
from jobs.ledger.enqueue import JobSpec
from jobs.ledger.models import Job
from jobs.runtime.task_base import LedgerTask

_task_modules_imported = False


def registered_tasks():
    """Celery's task registry with every app's tasks imported.

    Workers import autodiscovered task modules at start; web and beat processes do not,
    so anything that looks a task up by name goes through here.
    """
    global _task_modules_imported

    if not _task_modules_imported:
        current_app.loader.import_default_modules()
        _task_modules_imported = True
    return current_app.tasks


def task_defaults(name: str):
    """The registered task's defaults (queue, priority, max_attempts), if it is known here."""
    task = registered_tasks().get(name)
    return task if isinstance(task, LedgerTask) else None


def enqueue_many(specs: Iterable[JobSpec | dict], *, batch_size: int = 1000) -> list[Job]:
    """Many jobs in one INSERT per batch and one pipelined publish; each job takes its
    task's declared queue, priority and attempts unless its spec says otherwise."""
    return enqueue.enqueue_many(specs, batch_size=batch_size, defaults_for=task_defaults)
