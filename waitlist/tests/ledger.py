"""The job ledger as the waitlist tests read it: which jobs were enqueued, in which state.

The ``jobs`` package exports no model and its module paths are not a contract, so the ledger's
rows are read through Django's app registry. Statuses are compared as their stored values
(``"waiting"``, ``"completed"``, ``"failed"``).
"""

from django.apps import apps
from django.db.models import QuerySet

Job = apps.get_model("jobs", "Job")


def enqueued(task: str) -> QuerySet:
    """The ledger jobs of one task, whatever their state."""
    return Job.objects.filter(task=task)


def cascade_jobs() -> QuerySet:
    return enqueued("waitlist.notification_cascade")
