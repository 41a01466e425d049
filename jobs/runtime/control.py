"""The project's Celery control class: revoke also cancels the job in the ledger."""

from typing import Any

import django
from celery.app.control import Control
from django.apps import apps


class LedgerControl(Control):
    def revoke(self, task_id: Any, destination: Any = None, terminate: bool = False, **kwargs: Any):
        # Celery builds its control object in processes that may not have set Django up
        # yet (``celery -A config control ...``, Flower): set it up before the ledger is
        # imported, which is why that import is here and not at the top.
        if not apps.ready:
            django.setup()
        from jobs.runtime.revoke import cancel_in_ledger

        cancel_in_ledger(task_id)
        return super().revoke(task_id, destination=destination, terminate=terminate, **kwargs)
