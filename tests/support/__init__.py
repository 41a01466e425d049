"""Plain helpers shared by every suite's tests (no fixtures: those are in the conftest.py
files): ``auth`` (JWT tokens and clients), ``figures`` (fault-test figures), ``ledger_rows``
(ledger rows in any state), ``private_redis`` (a redis-server of a test's own),
``processes`` (real Celery worker and beat processes), ``waiting`` (``wait_for``) and
``websocket`` (the channels communicator)."""
