"""What this process has seen of a database outage, shared by its loops and the lifeline.

While the database is unreachable no worker can write its heartbeat, so right after the
database returns every worker looks dead. The lifeline waits one heartbeat timeout after
the last failure this process saw before it trusts heartbeats again; the loops log one
warning per outage instead of a traceback per tick.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

T = TypeVar("T")

log = logging.getLogger(__name__)

_lock = threading.Lock()
_last_failure: float | None = None
_down = False


def note_failure(exc: BaseException) -> None:
    global _last_failure, _down
    with _lock:
        first, _down, _last_failure = not _down, True, time.monotonic()
    if first:
        log.warning("database unreachable (%s: %s); waiting for it", type(exc).__name__, exc)


def note_success() -> None:
    global _down
    with _lock:
        was_down, _down = _down, False
    if was_down:
        log.warning("database reachable again")


def seconds_since_failure() -> float | None:
    """Seconds since this process last failed to reach the database; None if it never did."""
    last = _last_failure
    return None if last is None else time.monotonic() - last


def database_reachable() -> bool:
    """One ``SELECT 1``; on failure the connection is closed, so the next call reconnects."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (OperationalError, InterfaceError) as exc:
        note_failure(exc)
        connection.close()
        return False
    return True


def until_reachable(call: Callable[[], T]) -> T:
    """``call()``, repeated (0.5 s to 5 s apart) for as long as the database is unreachable;
    for a process that has nothing else to do until it answers (beat starting up).

    Any error counts when the database is then found unreachable, and an error with the
    database reachable is retried once before it is raised: django-celery-beat logs its own
    database errors and fails a moment later on what it could not read."""
    delay = 0.5
    retried = False
    while True:
        try:
            value = call()
        except Exception:
            if database_reachable():
                if retried:
                    raise
                retried = True
                continue
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        else:
            note_success()
            return value
