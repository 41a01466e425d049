"""The waitlist's Celery queues, declared once.

Plain data in the format ``config/queues.py`` documents (name, worker group, concurrency,
local rank); ``scripts/check_queues.py`` (in CI) holds Procfile and docker-compose.yml to it.
"""

QUEUES = [
    # Expired holds: one at a time, before anything else.
    {"name": "waitlist.holds", "group": "worker-holds", "concurrency": 1, "local_rank": 10},
    # The notification cascade: offers the slot to the next candidate.
    {"name": "waitlist.cascade", "group": "worker-cascade", "concurrency": 3, "local_rank": 20},
    # Notifications (email and the other channels), retried on transient errors.
    {
        "name": "waitlist.notifications",
        "group": "worker-waitlist-notifications",
        "concurrency": 2,
        "local_rank": 40,
    },
    # The daily removal of old notifications and audit logs: served last, one at a time.
    {
        "name": "waitlist.cleanup",
        "group": "worker-waitlist-cleanup",
        "concurrency": 1,
        "local_rank": 90,
    },
]
