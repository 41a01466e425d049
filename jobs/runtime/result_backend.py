"""Celery's result API over the ledger: ``AsyncResult(id)`` of a ledger job, in any process
(``celery result``, Flower's task page, a service that only has the id), reads the job's row.

The project's result backend is django-celery-results' database backend, with one change:
for an id that is a ledger job, the state and value come from the ledger row, in Celery's
vocabulary. Plain Celery tasks (``ledger=False``) keep their results in django-celery-results
as before. One result store per job: the row.

    delayed, waiting           PENDING
    delayed after a failure    RETRY    (the last error)
    active                     STARTED, or PROGRESS with {"progress", "message"}
    completed                  SUCCESS  (the task's return value)
    failed                     FAILURE  (JobFailed with the last error)
    cancelled                  REVOKED
"""

import uuid
from typing import Any

import django
from django.apps import apps

# Celery loads its result backend on first use. In a worker, a web process or beat Django is
# set up by then; the ``celery -A config call/result/...`` commands never set it up, and the
# backend's models could not load. Setting up here (and not in config/celery.py, which the
# settings themselves import) makes every celery command work.
if not apps.ready:
    django.setup()

from celery.result import GroupResult  # noqa: E402
from django_celery_results.backends.database import DatabaseBackend  # noqa: E402

from jobs.ledger import workflows as ledger_workflows  # noqa: E402
from jobs.ledger.models import Job  # noqa: E402
from jobs.runtime.result import ledger_meta  # noqa: E402


class LedgerBackend(DatabaseBackend):
    def _get_task_meta_for(self, task_id: str) -> dict[str, Any]:
        try:
            job_id = uuid.UUID(str(task_id))
        except ValueError:
            return super()._get_task_meta_for(task_id)
        job = Job.objects.filter(id=job_id).first()
        if job is None:
            return super()._get_task_meta_for(task_id)
        return self.meta_from_decoded(ledger_meta(job))

    def apply_chord(self, header_result_args, body, **kwargs):
        """A chord whose body is a ledger task counts its header in the ledger
        (``jobs.ledger.workflows.WorkflowChord``), in the caller's transaction, before the
        header's jobs are written: its last header job creates the body's job. Any other
        chord keeps django-celery-results' counter."""
        if not _is_ledger_signature(self.app, body):
            return super().apply_chord(header_result_args, body, **kwargs)
        if isinstance(header_result_args, GroupResult):
            group_id, results = header_result_args.id, list(header_result_args)
        else:
            group_id, results = header_result_args[0], list(header_result_args[1])
        body_data = _data(body)
        workflow_id = str((body_data.get("options") or {}).get("root_id") or group_id)
        ledger_workflows.chord_record(
            chord_id=str(group_id),
            workflow_id=workflow_id,
            header_ids=[str(r.id) for r in results],
            body=body_data,
            steps=list(ledger_workflows.signature_steps(body_data, "chord_body")),
        )


def _data(value: Any) -> Any:
    from kombu.utils import json as kombu_json

    return kombu_json.loads(kombu_json.dumps(value))


def _is_ledger_signature(app, sig) -> bool:
    """Whether the first task a signature (or its dict) runs is a ledger task."""
    while sig.get("subtask_type") in ("chain", "group", "chord"):
        kwargs = sig.get("kwargs") or {}
        if sig.get("subtask_type") == "chord":
            sig = kwargs.get("body") or {}
            continue
        tasks = list(kwargs.get("tasks") or [])
        if not tasks:
            return False
        sig = tasks[0]
    task = app.tasks.get(sig.get("task") or "")
    return bool(getattr(task, "ledger", False))
