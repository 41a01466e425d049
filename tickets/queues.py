"""The tickets app's Celery queues, declared once.

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
    # Seat-lock and reservation expiry sweepers: seats must come free on time.
    {"name": "tickets.expiry", "group": "worker-tickets", "concurrency": 2, "local_rank": 30},
    # Ticket PDFs and QR codes: slow, outside transactions, retried with backoff.
    {"name": "tickets.generation", "group": "worker-tickets", "concurrency": 2, "local_rank": 60},
    # Ticket and booking emails, served with the other notifications.
    {"name": "tickets.email", "group": "worker-notifications", "concurrency": 2, "local_rank": 50},
]
