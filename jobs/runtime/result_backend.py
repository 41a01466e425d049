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

from django_celery_results.backends.database import DatabaseBackend  # noqa: E402

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
