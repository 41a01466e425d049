"""The waitlist's Celery queues, declared once.

Plain data, imported by ``config/queues.py`` (and through it by the settings), so this
module imports nothing. Each entry:

- ``name``: the queue;
- ``group``: the docker-compose worker service that serves it;
- ``concurrency``: that service's ``-c`` (every queue of a group declares the same);
- ``local_rank``: its place in the local worker's ``-Q`` list (Procfile), lowest first;
  with ``queue_order_strategy=priority`` the worker serves the first non-empty queue first.

``scripts/check_queues.py`` (in CI) fails when Procfile or docker-compose.yml disagree.
"""

QUEUES = [
    # Expired holds: one at a time, before anything else.
    {"name": "waitlist.holds", "group": "worker-holds", "concurrency": 1, "local_rank": 10},
    # The notification cascade: offers the slot to the next candidate.
    {"name": "waitlist.cascade", "group": "worker-cascade", "concurrency": 3, "local_rank": 20},
    # Notifications (email and the other channels), retried on transient errors.
    {
        "name": "waitlist.notifications",
        "group": "worker-notifications",
        "concurrency": 2,
        "local_rank": 40,
    },
    # The daily removal of old notifications and audit logs: served last.
    {"name": "waitlist.cleanup", "group": "worker-maintenance", "concurrency": 1, "local_rank": 90},
]
