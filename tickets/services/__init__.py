"""State changes of the tickets app. Views, tasks, admin actions and commands call these
through this package (``from tickets import services; services.seat_lock_acquire(...)``).

One module per topic:

- ``locks``: seat locks and the every-minute sweep of expired ones
- ``reservations``: bookings awaiting payment and the 2-minute sweep of unpaid ones
- ``payments``: payment verification, which starts ticket generation
- ``generation``: tickets for a paid booking, the generation queue and its 3-minute sweep
- ``pdfs``: the stored ticket PDF of a booking
- ``emails``: the tickets email
- ``check_in``: admitting a scanned ticket once
- ``manual_runs``: running a periodic job by hand
- ``repair``: consistency checks and repairs (``manage.py repair_tickets``)
- ``guards``: checks every seat request runs first

Row-lock order, kept by every service so two of them can never deadlock:
user row -> seat locks (by seat id) -> seats (by id); bookings -> their seats. Sweepers
take their rows with SKIP LOCKED and so never wait on a request.

Imports run one way: these modules import ``tickets.tasks`` to enqueue; a task imports
its service inside its body.
"""

from tickets.services.check_in import CheckIn, ticket_check_in
from tickets.services.emails import (
    email_job_key,
    tickets_email_enqueue,
    tickets_email_resend,
    tickets_email_send,
)
from tickets.services.generation import (
    generation_job_key,
    generation_retry_delay,
    ticket_generation_enqueue,
    ticket_generation_failure_record,
    ticket_generation_queue_process,
    ticket_generation_retry,
    ticket_generation_run,
    ticket_generation_success_record,
    tickets_generate,
)
from tickets.services.locks import seat_lock_acquire, seat_lock_release, seat_locks_release_expired
from tickets.services.manual_runs import tickets_job_trigger
from tickets.services.payments import booking_verify_payment
from tickets.services.pdfs import ticket_pdf_ensure, ticket_pdf_store
from tickets.services.repair import tickets_repair
from tickets.services.reservations import booking_create, reservations_release_expired

__all__ = [
    "CheckIn",
    "booking_create",
    "booking_verify_payment",
    "email_job_key",
    "generation_job_key",
    "generation_retry_delay",
    "reservations_release_expired",
    "seat_lock_acquire",
    "seat_lock_release",
    "seat_locks_release_expired",
    "ticket_check_in",
    "ticket_generation_enqueue",
    "ticket_generation_failure_record",
    "ticket_generation_queue_process",
    "ticket_generation_retry",
    "ticket_generation_run",
    "ticket_generation_success_record",
    "ticket_pdf_ensure",
    "ticket_pdf_store",
    "tickets_email_enqueue",
    "tickets_email_resend",
    "tickets_email_send",
    "tickets_generate",
    "tickets_job_trigger",
    "tickets_repair",
]
