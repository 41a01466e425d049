"""The periodic jobs (sweeps every 1, 2 and 3 minutes), synced into django-celery-beat by
``manage.py sync_schedules``."""

from jobs import Schedule

SCHEDULES = [
    Schedule(
        name="tickets.release-expired-locks",
        task="tickets.release_expired_locks",
        cron="* * * * *",
        queue="tickets.expiry",
        priority="HIGH",
        description="Every minute: expired seat locks free their seats; users are notified.",
    ),
    Schedule(
        name="tickets.process-expired-reservations",
        task="tickets.process_expired_reservations",
        cron="*/2 * * * *",
        queue="tickets.expiry",
        priority="HIGH",
        description="Every 2 minutes: unpaid reservations past expiry release their seats.",
    ),
    Schedule(
        name="tickets.process-ticket-generation-queue",
        task="tickets.process_ticket_generation_queue",
        cron="*/3 * * * *",
        queue="tickets.generation",
        description="Every 3 minutes: due rows of the ticket generation queue are retried.",
    ),
]
