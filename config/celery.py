"""The Celery application.

``celery -A config worker`` and ``celery -A config beat`` work as written: settings come from
Django's settings (``CELERY_`` namespace) and beat uses django-celery-beat's
DatabaseScheduler through ``CELERY_BEAT_SCHEDULER``. ``celery -A config flower`` reads
``config/flowerconfig.py`` (basic auth from FLOWER_USER / FLOWER_PASSWORD, /metrics behind
it, loopback by default).

Without DJANGO_SETTINGS_MODULE the production settings are used, which refuse to start
without a real SECRET_KEY: a worker never runs on a development key by accident.
``make run`` (scripts/run-local.sh) and the test suite name their settings module.
"""

import os
from pathlib import Path

from celery import Celery
from celery.signals import (
    beat_init,
    setup_logging,
    worker_init,
    worker_process_init,
    worker_ready,
)
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# Flower reads this file unless --conf names another (it looks for ./flowerconfig.py only).
os.environ.setdefault("FLOWER_CONF", str(Path(__file__).with_name("flowerconfig.py")))

# The control class cancels a revoked job in the ledger too (durable revoke). The task class
# is the base of every @shared_task / @app.task: plain Celery, or a ledger task when
# JOBS_LEDGER_TASKS names it (jobs/runtime/default_task.py).
app = Celery(
    "config",
    control="jobs.runtime.control:LedgerControl",
    task_cls="jobs.runtime.default_task:CeleryTask",
)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Celery's Django fixup closes the database connection before and after every task unless
# this is set, which makes every job pay for a new PostgreSQL connection. Connections are
# recycled every JOBS_DB_REUSE_MAX tasks instead; the ledger's statements reconnect once
# when a connection turns out to be dead (jobs/execution.py).
app.conf["CELERY_DB_REUSE_MAX"] = int(os.environ.get("JOBS_DB_REUSE_MAX", "500"))

# The worker's `timer_heap` inspect command (jobs/runtime/timer_compaction.py) registers itself
# on import; `celery -A config inspect timer_heap` checks a command's name against the ones
# registered in its own process, so it is imported here too. It needs no Django set-up.
import jobs.runtime.timer_compaction  # noqa: E402, F401

if os.environ.get("LOG_FORMAT", "text").lower() == "json":
    # Celery replaces the root logger's handlers with its own text format unless this
    # signal has a receiver: in JSON mode every worker line goes through Django's LOGGING.
    @setup_logging.connect
    def use_django_logging(**kwargs) -> None:
        from logging.config import dictConfig

        from django.conf import settings

        dictConfig(settings.LOGGING)


@app.on_after_configure.connect
def declare_queues(sender: Celery, **kwargs) -> None:
    from django.conf import settings

    sender.conf.task_queues = [
        Queue(name, routing_key=name, queue_arguments={"x-max-priority": 10})
        for name in settings.JOBS_QUEUES
    ]


def route_by_declared_queue(name, args, kwargs, options, task=None, **kw):
    """Plain Celery calls of a @job_task go to the queue and priority it declares."""
    if task is not None and hasattr(task, "job_queue"):
        return {"queue": task.job_queue, "priority": task.job_priority}
    return None


app.conf.task_routes = (route_by_declared_queue,)


@worker_init.connect
def refuse_unsafe_time_limits(sender=None, **kwargs) -> None:
    """A task whose hard time limit exceeds the visibility timeout would run twice."""
    from config.settings.base import check_visibility_timeout

    app.loader.import_default_modules()
    check_visibility_timeout([t.time_limit for t in app.tasks.values() if t.time_limit])


@worker_process_init.connect
@worker_ready.connect
@beat_init.connect
def start_tracing(**kwargs) -> None:
    """OpenTelemetry, when configured (config/telemetry.py): in each pool process after the
    fork, in the main process (it publishes due jobs) and in beat."""
    from django.conf import settings

    if settings.OTEL_EXPORTER_OTLP_ENDPOINT or settings.OTEL_TRACES:
        from config.telemetry import init_tracing_from_settings

        init_tracing_from_settings()
