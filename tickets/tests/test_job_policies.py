"""The ticketing jobs' schedules and retry policies as declared, and the email's retry timing
through the ledger (the delays written in the job row, by the worker's own code path)."""

from smtplib import SMTPServerDisconnected

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from jobs import assert_enqueued, run_enqueued_jobs
from tickets import services, tasks
from tickets.schedules import SCHEDULES
from tickets.tests.factories import paid_booking
from tickets.tests.ledger import Job


class SmtpDownBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("connection unexpectedly closed")


def test_sweeps_run_every_1_2_and_3_minutes_and_every_job_retries_only_transient_errors():
    # The document's six-field '0 * * * * *', '0 */2 * * * *', '0 */3 * * * *' fire at second
    # 0 of the same minutes as these five-field forms.
    assert {s.task: s.cron for s in SCHEDULES} == {
        "tickets.release_expired_locks": "* * * * *",
        "tickets.process_expired_reservations": "*/2 * * * *",
        "tickets.process_ticket_generation_queue": "*/3 * * * *",
    }
    policies = {
        task.name: (task.max_attempts, [task.backoff.seconds(n) for n in (1, 2, 3, 4)])
        for task in (
            tasks.release_expired_locks,
            tasks.process_expired_reservations,
            tasks.process_ticket_generation_queue,
            tasks.generate_tickets,
            tasks.email_tickets,
        )
    }
    assert policies == {
        "tickets.release_expired_locks": (3, [1, 2, 4, 8]),
        "tickets.process_expired_reservations": (3, [1, 2, 4, 8]),
        "tickets.process_ticket_generation_queue": (3, [1, 2, 4, 8]),
        "tickets.generate_tickets": (3, [2, 4, 8, 16]),
        "tickets.email_tickets": (5, [30, 60, 120, 240]),
    }
    for task in (tasks.release_expired_locks, tasks.generate_tickets, tasks.email_tickets):
        assert Exception not in task.retry_for


@pytest.mark.django_db
def test_the_tickets_email_is_retried_30_60_120_and_240_seconds_apart_then_fails(clock, settings):
    booking = paid_booking(seats=1)
    services.ticket_generation_run(booking_id=booking.id)
    [email] = assert_enqueued(task=tasks.email_tickets)
    settings.EMAIL_BACKEND = f"{__name__}.SmtpDownBackend"

    waits = []
    for _ in range(4):
        run_enqueued_jobs(task=tasks.email_tickets, include_delayed=True, limit=1)
        email.refresh_from_db()
        waits.append((email.scheduled_for - timezone.now()).total_seconds())
    run_enqueued_jobs(task=tasks.email_tickets, include_delayed=True, limit=1)

    assert waits == [30, 60, 120, 240]
    email = Job.objects.get(id=email.id)
    assert (email.status, email.attempts) == ("failed", 5)
    assert "SMTPServerDisconnected" in email.error
