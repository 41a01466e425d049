"""Django's PostgreSQL backend, failing fast for a moment after a connection attempt failed.

During an outage one request touches the database several times (authentication, the view,
the session), and each attempt would wait for a connect or pool timeout of its own: one
503 would take half a minute. After a failed attempt, this process's further attempts fail
at once for ``FAIL_FAST_SECONDS``, with the same error class, so callers (the 503 answer,
the worker's wait for the database) behave as if they had waited. The first attempt after
the window really connects, so recovery is noticed within that window.
"""

import threading
import time

from django.db.backends.postgresql import base

FAIL_FAST_SECONDS = 2.0

_lock = threading.Lock()
_failed_until = 0.0
_last_error = ""


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        global _failed_until, _last_error
        if time.monotonic() < _failed_until:
            raise self.Database.OperationalError(
                f"database unreachable (a connection attempt failed just now: {_last_error})"
            )
        try:
            return super().get_new_connection(conn_params)
        except self.Database.OperationalError as exc:
            with _lock:
                _failed_until = time.monotonic() + FAIL_FAST_SECONDS
                _last_error = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise
