"""How a worker receives a ledger task's message: a foreign message with a future eta is
recorded in the ledger when it arrives, not when it is due.

A message that has no ledger row (``send_task(..., countdown=3600)``, ``celery call
--countdown``, another service's producer, Celery's own ``retry()`` of a plain-Celery
caller) would otherwise sit in the worker's ETA timer until it is due: invisible to the
ledger, and in Redis unacknowledged, so that it comes back (and runs twice) once the eta is
further away than the visibility timeout, or is lost from view until then if the worker dies.

Instead the worker's main process records it at once as a ``delayed`` row under the
message's own id (``scheduled_for`` = its eta, ``attempts`` = its ``retries``), then
acknowledges the message. From there it is an ordinary delayed job: the stager publishes it
when due, a revoke or cancel reaches it, and no ETA is held in memory. Why this order keeps
every guarantee:

- the row is committed before the ack: a worker killed in between leaves the message
  unacknowledged, Redis delivers it again, and the second receipt finds the row (the insert
  under the same id changes nothing) and acknowledges it. No loss;
- the job then runs only from the ledger's own message (the stager's), claimed with the
  conditional UPDATE, so a redelivered foreign copy, whenever it comes, cannot run it twice:
  a copy still in the future is dropped as above, a copy already due finds the row not
  waiting (or finished) and is turned away by the claim;
- when the row cannot be written (database down, a queue the ledger does not know), the
  message goes on as before: Celery keeps it for its eta and the claim adopts it then.

The ledger's own messages carry ``broker.LEDGER_HEADER`` and never an eta: they, and
messages due now, pass through with one dictionary look-up and no database statement.
"""

import logging
from datetime import datetime
from typing import Any

from celery.utils.time import maybe_make_aware
from celery.worker.strategy import default
from django.db import DatabaseError
from django.utils import timezone

from jobs.errors import InvalidInput
from jobs.ledger import attempts, broker, enqueue
from jobs.ledger.enqueue import JobSpec

log = logging.getLogger(__name__)


def ledger_strategy(task: Any, app: Any, consumer: Any, **kwargs: Any):
    """Celery's default strategy, with future-eta messages of a ledger task recorded."""
    handle = default(task, app, consumer, **kwargs)
    if not getattr(task, "ledger", False):
        return handle
    connection_errors = consumer.connection_errors

    def task_message_handler(message, body, ack, reject, callbacks, **options):
        headers = message.headers or {}
        if broker.LEDGER_HEADER in headers or not headers.get("eta"):
            return handle(message, body, ack, reject, callbacks, **options)
        if _record_delayed(task, app, message, headers):
            ack(log, connection_errors)
            return None
        return handle(message, body, ack, reject, callbacks, **options)

    return task_message_handler


def _record_delayed(task: Any, app: Any, message: Any, headers: dict) -> bool:
    """Record the message as a delayed job; True when the ledger holds it (now or already)."""
    try:
        eta = maybe_make_aware(datetime.fromisoformat(headers["eta"]), app.timezone)
    except (TypeError, ValueError):
        return False  # Celery's own handling reports an eta it cannot read
    if eta <= timezone.now():
        return False  # due now: the claim adopts it when it runs, a moment from now
    job_id = headers.get("id")
    if not isinstance(job_id, str):
        return False
    try:
        args, kwargs, _embed = message.decode()
        properties = message.properties or {}
        priority = properties.get("priority")
        spec = JobSpec(
            task=task.name,
            args=list(args or ()),
            kwargs=dict(kwargs or {}),
            queue=(message.delivery_info or {}).get("routing_key") or task.job_queue,
            # Celery's priorities run 0-9; a message's value is kept when it is one of ours.
            priority=priority if isinstance(priority, int) and 1 <= priority <= 5 else None,
            eta=eta,
        )
        retries = int(headers.get("retries") or 0)
        created = attempts.reconnecting(
            lambda: enqueue.job_adopt(spec, job_id=job_id, defaults=task, attempts=retries)
        )
    except InvalidInput as exc:
        log.error("message %s for %s could not be recorded: %s", job_id, task.name, exc)
        return False
    except (DatabaseError, ValueError, TypeError) as exc:
        log.warning(
            "message %s for %s (eta %s) not recorded yet (%s); it waits in this worker",
            job_id,
            task.name,
            eta,
            exc,
        )
        return False
    if created:
        log.info("job %s (%s) recorded as delayed until %s", job_id, task.name, eta.isoformat())
    return True
