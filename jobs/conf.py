"""The jobs platform's settings: the one place that reads ``JOBS_*``, with types and defaults.

``jobs_settings()`` returns a frozen ``JobsSettings``. Each field ``name`` is the Django
setting ``JOBS_<NAME>``: its value when the settings define it, else the default below. A
value of the wrong type stops with ``ImproperlyConfigured`` naming the setting. The answer
is cached, and dropped when a ``JOBS_*`` setting changes (``override_settings`` and
pytest-django's ``settings`` fixture send ``setting_changed``).

The operator's knobs are environment variables, which ``config/settings/base.py`` reads
into these settings (``.env.example`` lists them; a few carry a unit, such as
``JOBS_RESULTS_RETENTION_SECONDS`` for ``JOBS_RESULTS_RETENTION``). This module imports
nothing from the rest of the ``jobs`` package, so any module of it may import this one.

=================================  =========  ================  ==================================
setting                            type       default           meaning
=================================  =========  ================  ==================================
JOBS_QUEUES                        list[str]  default,          queues jobs may use and workers
                                              jobs.maintenance  declare (the project lists every
                                                                app's: config/queues.py)
JOBS_DISPATCH_INTERVAL             float s    0.2               pause between dispatcher passes
JOBS_DISPATCHER_IN_WORKER          bool       True              dispatcher in every worker process
JOBS_HEARTBEAT_INTERVAL            float s    5.0               worker heartbeat period
JOBS_HEARTBEAT_TIMEOUT             float s    20.0              silence after which a worker is
                                                                dead and its jobs are reaped
JOBS_REPUBLISH_AFTER               float s    30.0              a waiting job not picked up this
                                                                long is published again
JOBS_POISON_THRESHOLD              int        3                 worker deaths before a job fails
JOBS_RETENTION                     mapping    see below         finished jobs kept, per status
JOBS_RESULTS_RETENTION             int s      604800            django-celery-results rows kept
JOBS_SCHEDULE_MISS_GRACE           int s      120               a fire this late counts as missed
JOBS_API_THROTTLE_RATE             str        600/minute        admin REST API throttle (unless
                                                                DEFAULT_THROTTLE_RATES has one)
JOBS_METRICS_ALLOWED_IPS           list[str]  127.0.0.1         clients (addresses, networks) that
                                                                read /metrics without credentials
JOBS_ALERT_FAILURE_RATE            float %    10.0              failure_rate alert: failed share
                                                                of a queue's jobs in the last hour
JOBS_ALERT_MIN_SAMPLE              int        20                ... from this many finished jobs
JOBS_ALERT_WAITING_THRESHOLD       int        1000              queue_backlog alert: waiting jobs
JOBS_ALERT_SLOW_FACTOR             float      2.0               slow_processing alert: run time
                                                                over the 24-hour baseline
JOBS_ALERT_SLOW_MIN_SAMPLE         int        10                ... from this many jobs on
JOBS_ALERT_BASELINE_CACHE_SECONDS  int s      600               how long that baseline is cached
JOBS_ALERT_WORKER_DOWN_WINDOW      int s      3600              worker_down alert: look-back
JOBS_HEALTH_CACHE_SECONDS          int s      5                 health answer's worker list cache
JOBS_WS_POLL_INTERVAL              float s    0.5               WebSocket stream: running jobs
                                                                are re-read this often
JOBS_DEFAULT_MAX_ATTEMPTS          int        1                 attempts of a task that declares
                                                                neither max_attempts nor
                                                                max_retries
JOBS_MAX_ATTEMPTS_CAP              int        25                attempts of max_retries=None
JOBS_DEFAULT_RETRY_DELAY           float s    None              fixed delay between attempts of a
                                                                task that declares no backoff
                                                                (None: exponential from 1 s)
JOBS_DATABASE_OUTAGE_WAIT          float s    300.0             how long a worker's ledger write
                                                                waits for an unreachable database
                                                                before giving the message back
JOBS_LEDGER_TASKS                  patterns   ()                plain Celery tasks (@shared_task,
                                                                @app.task) that are ledger tasks:
                                                                task-name globs, or "__all__"
JOBS_TIMER_COMPACT_INTERVAL        float s    15.0              a worker's event-loop timer drops
                                                                its cancelled time-limit entries
                                                                this often (0: never)
=================================  =========  ================  ==================================

Lists come back as tuples. ``JOBS_LEDGER_TASKS`` takes globs on task names, as Celery's
``task_routes`` does (``["waitlist.*", "reports.tasks.render_*"]``; a task's default name is
``<module>.<function>``, so an app's label is a prefix), or ``"__all__"``; Celery's own
tasks (``celery.*``) and django-celery-beat's and django-celery-results' never match.

``JOBS_RETENTION`` maps a job status to ``{"age": seconds, "count": newest jobs kept per
queue}`` (a missing key or None: no limit); the default keeps completed jobs 1 day (and at
most 1000 per queue), failed ones 7 days, cancelled ones 1 day. A ``JOBS_RETENTION``
setting replaces the whole default: a status it leaves out is kept for ever.

Two more ``JOBS_*`` environment variables configure connections and are not Django
settings: ``JOBS_DB_PREPARED_STATEMENTS`` (``config/settings/base.py``: the database's
``prepare_threshold`` option) and ``JOBS_DB_REUSE_MAX`` (``config/celery.py``: tasks a
worker runs on one database connection).
"""

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from types import MappingProxyType
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

PREFIX = "JOBS_"

Retention = Mapping[str, Mapping[str, float | None]]
# Task-name globs, or ("__all__",).
TaskPatterns = Annotated[tuple[str, ...], "task-name globs or __all__"]
ALL_TASKS = "__all__"


def _default_retention() -> Retention:
    return MappingProxyType(
        {
            "completed": MappingProxyType({"age": 24 * 3600, "count": 1000}),
            "failed": MappingProxyType({"age": 7 * 24 * 3600}),
            "cancelled": MappingProxyType({"age": 24 * 3600}),
        }
    )


@dataclass(frozen=True)
class JobsSettings:
    queues: tuple[str, ...] = ("default", "jobs.maintenance")
    dispatch_interval: float = 0.2
    dispatcher_in_worker: bool = True
    heartbeat_interval: float = 5.0
    heartbeat_timeout: float = 20.0
    republish_after: float = 30.0
    poison_threshold: int = 3
    retention: Retention = field(default_factory=_default_retention)
    results_retention: int = 7 * 24 * 3600
    schedule_miss_grace: int = 120
    api_throttle_rate: str = "600/minute"
    metrics_allowed_ips: tuple[str, ...] = ("127.0.0.1",)
    alert_failure_rate: float = 10.0
    alert_min_sample: int = 20
    alert_waiting_threshold: int = 1000
    alert_slow_factor: float = 2.0
    alert_slow_min_sample: int = 10
    alert_baseline_cache_seconds: int = 600
    alert_worker_down_window: int = 3600
    health_cache_seconds: int = 5
    ws_poll_interval: float = 0.5
    default_max_attempts: int = 1
    max_attempts_cap: int = 25
    default_retry_delay: float | None = None
    database_outage_wait: float = 300.0
    ledger_tasks: TaskPatterns = ()
    timer_compact_interval: float = 15.0


class _BadValue(ValueError):
    """The value does not fit; the message says what would."""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _BadValue("must be True or False")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadValue("must be a whole number")
    return value


def _float(value: object) -> float:
    if not _is_number(value):
        raise _BadValue("must be a number")
    return float(value)  # type: ignore[arg-type]


def _str(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _BadValue("must be a non-empty string")
    return value


def _names(value: object) -> tuple[str, ...]:
    # A bare string is refused: tuple("a,b") would be a list of characters.
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise _BadValue("must be a list of non-empty strings")
    return tuple(value)


def _task_patterns(value: object) -> tuple[str, ...]:
    if value == ALL_TASKS:
        return (ALL_TASKS,)
    try:
        return _names(value)
    except _BadValue:
        raise _BadValue('must be "__all__" or a list of task-name globs') from None


def _retention(value: object) -> Retention:
    if not isinstance(value, Mapping):
        raise _BadValue('must be a dict {status: {"age": seconds, "count": jobs}}')
    checked = {}
    for status, policy in value.items():
        if not isinstance(status, str) or not isinstance(policy, Mapping):
            raise _BadValue(
                f'entry {status!r} must be a status name -> {{"age": ..., "count": ...}}'
            )
        if unknown := set(policy) - {"age", "count"}:
            raise _BadValue(f"entry {status!r} has unknown keys {sorted(unknown)}")
        for key, limit in policy.items():
            if limit is not None and (not _is_number(limit) or limit < 0):
                raise _BadValue(f"{status}.{key} must be a number >= 0 or None")
        checked[status] = MappingProxyType(dict(policy))
    return MappingProxyType(checked)


# Field type -> the check (and conversion) of a value set in the settings.
_CHECKS: dict[Any, Callable[[object], Any]] = {
    bool: _bool,
    int: _int,
    float: _float,
    str: _str,
    tuple[str, ...]: _names,
    Retention: _retention,
    TaskPatterns: _task_patterns,
    float | None: lambda value: None if value is None else _float(value),
}


def setting_name(field_name: str) -> str:
    return PREFIX + field_name.upper()


def _default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


@cache
def jobs_settings() -> JobsSettings:
    """The platform's settings, read from ``django.conf.settings`` once and checked."""
    values = {}
    for f in fields(JobsSettings):
        name = setting_name(f.name)
        if not hasattr(settings, name):
            values[f.name] = _default(f)
            continue
        value = getattr(settings, name)
        try:
            values[f.name] = _CHECKS[f.type](value)
        except _BadValue as exc:
            raise ImproperlyConfigured(f"{name} {exc}; got {value!r}") from None
    return JobsSettings(**values)


def _reread_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(PREFIX):
        jobs_settings.cache_clear()


setting_changed.connect(_reread_on_change, dispatch_uid="jobs.conf.reread_on_change")
