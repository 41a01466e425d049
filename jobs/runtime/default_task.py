"""The Celery app's default task class: plain Celery tasks made durable by a setting.

``config/celery.py`` makes ``CeleryTask`` the base of every task declared the Celery way
(``@shared_task``, ``@app.task``). Celery builds each such task as a subclass holding the
decorator's options as class attributes (``Celery._task_from_fun``); ``__init_subclass__``
sees them there and decides once, when the task is declared:

- its name matches ``JOBS_LEDGER_TASKS`` (and the task does not say ``ledger=False``): a
  ledger task, with Celery's own options mapped onto the ledger (below);
- otherwise, and always for Celery's own tasks (``celery.*``) and django-celery-beat's and
  django-celery-results': plain Celery, results in django-celery-results, exactly as before;
- ``ledger=True`` in the decorator makes one task a ledger task whatever its name.

``@job_task`` (``jobs.runtime.task_base``) stays the way to use the platform's own options
(priority names, ``job_key`` defaults, ``atomic``, backoff policies).

On such a task Celery's options keep Celery's meaning: only ``autoretry_for`` exceptions are
retried automatically (any exception is, for ``@job_task``), ``self.retry()`` works,
``max_retries`` (Celery's default: 3) and ``default_retry_delay`` (default: 180 s) or
``retry_backoff`` set the ledger's attempts and backoff, ``rate_limit`` becomes global.
An option the ledger cannot honour is named in a ``LedgerOptionWarning`` at start-up.
"""

from fnmatch import fnmatchcase

import django
from django.apps import apps

# Celery loads this class when it first builds a task (app.finalize()). In a worker, a web
# process or beat Django is set up by then; a script that only imports config.celery and
# asks for app.tasks has not, and the ledger's models could not load (as in
# result_backend.py).
if not apps.ready and not apps.loading:
    django.setup()

from jobs.conf import ALL_TASKS, jobs_settings  # noqa: E402
from jobs.ledger import backoff as backoff_policies  # noqa: E402
from jobs.ledger.priorities import Priority  # noqa: E402
from jobs.runtime import rate_limits  # noqa: E402
from jobs.runtime.task_base import (  # noqa: E402
    NOT_HONOURED,
    LedgerTask,
    _retry_policy,
    warn_unhonoured,
)

# Tasks that are never ledger tasks, whatever JOBS_LEDGER_TASKS says: Celery's built-ins
# (backend_cleanup, chord_unlock, ping, the canvas helpers) and those of the Celery
# extensions the project installs. Beat's cleanup must run on a broker schedule, and the
# canvas helpers carry Celery's own bookkeeping that the ledger does not record.
NEVER_LEDGER = ("celery.", "django_celery_beat.", "django_celery_results.")


def is_ledger_task_name(name: str, patterns: tuple[str, ...]) -> bool:
    if not name or name.startswith(NEVER_LEDGER):
        return False
    return ALL_TASKS in patterns or any(fnmatchcase(name, p) for p in patterns)


class CeleryTask(LedgerTask):
    """Base of ``@shared_task`` / ``@app.task``: a ledger task when JOBS_LEDGER_TASKS names
    it, plain Celery otherwise. ``ledger`` is None until the task's name is known."""

    ledger = None  # type: ignore[assignment]  # decided per task in __init_subclass__

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if not name:
            return  # the app's abstract base (app.Task) or a custom base class
        if cls.ledger is None:
            cls.ledger = is_ledger_task_name(name, jobs_settings().ledger_tasks)
        if getattr(cls, "queue", None):
            cls.job_queue = cls.queue
        if cls.ledger:
            _make_durable(cls)

    def retries_on(self, exc: BaseException) -> bool:
        """Celery's meaning: an error is retried automatically only when it is one of
        ``autoretry_for`` (``self.retry()`` retries whatever the error)."""
        return bool(self.retry_for) and super().retries_on(exc)


def _make_durable(cls: type[CeleryTask]) -> None:
    name = cls.__dict__["name"]
    cls.ignore_result = True
    cls.retry_for = tuple(getattr(cls, "autoretry_for", None) or ())
    cls.dont_retry_for = tuple(getattr(cls, "dont_autoretry_for", None) or ())
    retry_kwargs = dict(getattr(cls, "retry_kwargs", None) or {})
    # Celery's defaults where the task sets nothing (celery/app/autoretry.py, Task).
    options = {
        "max_retries": retry_kwargs.pop("max_retries", cls.max_retries),
        "retry_backoff": getattr(cls, "retry_backoff", False),
        "retry_backoff_max": getattr(cls, "retry_backoff_max", 600),
        "retry_jitter": getattr(cls, "retry_jitter", True),
        "default_retry_delay": retry_kwargs.pop("countdown", cls.default_retry_delay),
    }
    backoff = cls.__dict__.get("backoff")
    cls.max_attempts, cls.backoff = _retry_policy(
        cls.__dict__.get("max_attempts"),
        backoff if isinstance(backoff, backoff_policies.Backoff) else None,
        options,
    )
    # Celery wraps the body of an autoretry_for task to call self.retry() itself; it skips
    # a task that already has `_orig_run`. The ledger retries by the policy above instead,
    # so the attempts and backoff are the same whether the error is caught or the worker
    # dies, and survive restarts.
    cls._orig_run = None
    if cls.rate_limit:
        # Global across workers (Celery's own limit would be per worker, on top).
        rate_limits.declare_task_limit(name, cls.rate_limit)
        cls.rate_limit = None
    priority = cls.__dict__.get("priority")
    if isinstance(priority, int) and not isinstance(priority, bool):
        # Celery's 0-9 onto the ledger's 1 (CRITICAL) .. 5 (BATCH); lower runs first in both.
        cls.job_priority = min(max(priority, int(Priority.CRITICAL)), int(Priority.BATCH))
    for option, reason in NOT_HONOURED.items():
        if cls.__dict__.get(option) is not None:
            _warn(name, option, reason)
    if retry_kwargs:
        _warn(name, f"retry_kwargs {sorted(retry_kwargs)}", "only max_retries and countdown map")
    if cls.__dict__.get("serializer") not in (None, "json"):
        _warn(name, "serializer", "ledger jobs store their arguments as JSON")
    # pydantic=True needs no warning: LedgerTask.job_arguments dumps the models to JSON at
    # enqueue, as Celery's apply_async does, and Celery's wrapper validates them on the run.


def _warn(task: str, option: str, reason: str) -> None:
    warn_unhonoured(task, option, reason, declared_by="JOBS_LEDGER_TASKS")
