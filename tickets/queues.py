"""The tickets app's Celery queues, declared once.

Plain data in the format ``config/queues.py`` documents (name, worker group, concurrency,
local rank); ``scripts/check_queues.py`` (in CI) holds Procfile and docker-compose.yml to it.
"""

QUEUES = [
    # Seat-lock and reservation expiry sweepers: seats must come free on time.
    {"name": "tickets.expiry", "group": "worker-tickets", "concurrency": 2, "local_rank": 30},
    # Ticket PDFs and QR codes: slow, outside transactions, retried with backoff.
    {"name": "tickets.generation", "group": "worker-tickets", "concurrency": 2, "local_rank": 60},
    # Ticket and booking emails, served with the other notifications.
    {"name": "tickets.email", "group": "worker-notifications", "concurrency": 2, "local_rank": 50},
]
