"""Looking tasks up by name, and enqueueing many jobs with each task's own defaults."""

import importlib
from collections.abc import Iterable

from celery import current_app
from django.apps import apps

from jobs.ledger import enqueue
from jobs.ledger.enqueue import JobSpec
from jobs.ledger.models import Job
from jobs.runtime.task_base import LedgerTask

_task_modules_imported = False


def registered_tasks() -> dict:
    """Celery's task registry with every app's tasks imported.

    Workers import autodiscovered task modules at start; web and beat processes do not,
    so anything that looks a task up by name goes through here.
    """
    global _task_modules_imported

    if not _task_modules_imported:
        _import_task_modules()
        _task_modules_imported = True
    return current_app.tasks


def _import_task_modules() -> None:
    """Import what Celery's ``loader.import_default_modules()`` would, without sending its
    ``import_modules`` signal: Celery's Django fixup answers that signal with
    ``django.setup()``, which applies ``LOGGING`` again; inside a worker's pool process
    that leaves the process logging into Celery's stderr proxy, whose recursion guard then
    drops every record (no task lines, no tracebacks) for the rest of its life."""
    for module in current_app.loader.default_modules:  # CELERY_IMPORTS and include
        current_app.loader.import_task_module(module)
    for config in apps.get_app_configs():  # what app.autodiscover_tasks() finds
        name = f"{config.name}.tasks"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def ledger_task(name: str) -> LedgerTask | None:
    """The registered ledger task called ``name`` (its defaults: queue, priority,
    max_attempts, time limit), or None for an unknown or plain Celery task."""
    task = registered_tasks().get(name)
    return task if isinstance(task, LedgerTask) and task.ledger else None


def ledger_task_names() -> list[str]:
    """Names of every registered ledger task, sorted."""
    return sorted(
        name
        for name, task in registered_tasks().items()
        if isinstance(task, LedgerTask) and task.ledger
    )


def enqueue_many(specs: Iterable[JobSpec | dict], *, batch_size: int = 1000) -> list[Job]:
    """Many jobs in one INSERT per batch and one pipelined publish; each job takes its
    task's declared queue, priority and attempts unless its spec says otherwise."""
    return enqueue.enqueue_many(specs, batch_size=batch_size, defaults_for=ledger_task)
