"""The tickets app's jobs. Each takes ids, calls one service and returns a small result.

Each task imports ``tickets.services`` inside its body: the services import this module at
load time to enqueue these tasks, so imports run one way (services -> tasks), no cycle.
"""

from smtplib import SMTPException

from django.db import InterfaceError, OperationalError

from jobs import exponential, job_task

# A database that drops a connection or fails over is worth another try; anything else is
# a bug or a data problem and fails into the ledger with its traceback.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
# The sweeps' retry policy: a database hiccup is tried again soon; the next run (a minute
# or two later) catches up on anything a failed run left.
SWEEP_RETRIES = {"max_attempts": 3, "autoretry_for": TRANSIENT_DB_ERRORS, "backoff": exponential(1)}


@job_task(
    name="tickets.release_expired_locks", queue="tickets.expiry", priority="HIGH", **SWEEP_RETRIES
)
def release_expired_locks() -> dict:
    from tickets import services

    return services.seat_locks_release_expired()


@job_task(
    name="tickets.process_expired_reservations",
    queue="tickets.expiry",
    priority="HIGH",
    **SWEEP_RETRIES,
)
def process_expired_reservations() -> dict:
    from tickets import services

    return services.reservations_release_expired()


@job_task(
    name="tickets.process_ticket_generation_queue", queue="tickets.generation", **SWEEP_RETRIES
)
def process_ticket_generation_queue() -> dict:
    from tickets import services

    return services.ticket_generation_queue_process()


# The ticket generation queue counts this job's attempts and spaces them out; the ledger
# retries only a database hiccup that kept the attempt from being recorded at all.
@job_task(
    name="tickets.generate_tickets",
    queue="tickets.generation",
    priority="HIGH",
    max_attempts=3,
    autoretry_for=TRANSIENT_DB_ERRORS,
    backoff=exponential(2),
)
def generate_tickets(booking_id: str) -> dict:
    from tickets import services

    return services.ticket_generation_run(booking_id=booking_id)


@job_task(
    name="tickets.email_tickets",
    queue="tickets.email",
    max_attempts=5,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError, *TRANSIENT_DB_ERRORS),
    backoff=exponential(30, max_delay=1800),
)
def email_tickets(booking_id: str) -> dict:
    from tickets import services

    return services.tickets_email_send(booking_id=booking_id)


# Jobs an operator may start by hand (admin buttons, POST /api/tickets/jobs/<name>/run/).
MANUAL_JOBS = {
    "release-expired-locks": release_expired_locks,
    "process-expired-reservations": process_expired_reservations,
    "process-ticket-generation-queue": process_ticket_generation_queue,
}
