"""Ticket generation: a paid booking's tickets and PDF, and the retry queue behind them.

A generation job runs at once when a payment is verified. An attempt that fails leaves the
booking a row in the ticket generation queue (``TicketGeneration``); the 3-minute sweep hands
due rows to new jobs with growing delays, and after the last attempt the row stays failed
for an admin to retry.
"""

import logging
import traceback
import uuid
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import exponential
from tickets import selectors
from tickets.codes import ticket_code_make
from tickets.conf import tickets_settings
from tickets.errors import BookingStateError
from tickets.models import (
    Booking,
    BookingSeat,
    BookingStatus,
    GenerationStatus,
    Ticket,
    TicketGeneration,
)
from tickets.services.emails import tickets_email_enqueue
from tickets.services.pdfs import ticket_pdf_store
from tickets.tasks import generate_tickets

log = logging.getLogger(__name__)


def generation_job_key(booking_id: uuid.UUID | str) -> str:
    return f"tickets.generate:{booking_id}"


def ticket_generation_enqueue(*, booking_id: uuid.UUID | str):
    """Queue a generation job for the booking (published after commit); while one is live,
    that one is returned instead of a second. Returns the job's LedgerResult."""
    return generate_tickets.apply_async((str(booking_id),), job_key=generation_job_key(booking_id))


def tickets_generate(*, booking: Booking) -> dict:
    """Create the booking's tickets (never a second one for a seat), render their PDF and
    queue the email. Safe to run any number of times."""
    booking_seats = list(
        BookingSeat.objects.filter(booking=booking, active=True).select_related("seat")
    )
    if not booking_seats:
        raise BookingStateError(f"booking {booking.id} holds no seats")
    now = timezone.now()
    before = Ticket.objects.filter(booking=booking).count()
    new_tickets = []
    for booking_seat in booking_seats:
        ticket_id = uuid.uuid4()
        new_tickets.append(
            Ticket(
                id=ticket_id,
                booking=booking,
                seat_id=booking_seat.seat_id,
                code=ticket_code_make(ticket_id=ticket_id),
                created_at=now,
            )
        )
    # ON CONFLICT DO NOTHING on the one-ticket-per-seat index: a rerun keeps the old ones.
    Ticket.objects.bulk_create(new_tickets, ignore_conflicts=True)
    tickets = selectors.booking_tickets(booking=booking)
    foreign = {bs.seat_id for bs in booking_seats} - {t.seat_id for t in tickets}
    if foreign:
        raise BookingStateError(f"seats {sorted(map(str, foreign))} have another booking's ticket")
    document = ticket_pdf_store(booking=booking, tickets=tickets)  # slow: outside transactions
    email_job = None
    if booking.tickets_emailed_at is None:
        email_job = tickets_email_enqueue(booking_id=booking.id)
    return {
        "tickets": len(tickets),
        "created": len(tickets) - before,
        "pdf_bytes": document.size,
        "email_job": email_job.id if email_job else None,
    }


def ticket_generation_run(*, booking_id: uuid.UUID | str) -> dict:
    """One generation attempt: on failure the booking gets (or updates) its row in the
    ticket generation queue; after the last attempt the row is failed, kept, and the admins
    are told."""
    booking = Booking.objects.select_related("event", "user").filter(id=booking_id).first()
    if booking is None:
        return {"status": "missing_booking", "booking_id": str(booking_id)}
    if booking.status != BookingStatus.PAID:
        return {"status": "skipped", "reason": f"booking is {booking.status}"}
    try:
        outcome = tickets_generate(booking=booking)
    except Exception as exc:
        # The generation queue's rule: every failed attempt is recorded in the queue row and
        # retried from there with increasing delays, whatever its cause.
        error = "".join(traceback.format_exception(exc))
        entry = ticket_generation_failure_record(booking=booking, error=error)
        return {
            "status": entry.status,
            "attempts": entry.attempts,
            "max_attempts": entry.max_attempts,
            "next_attempt_at": entry.next_attempt_at.isoformat(),
            "error": f"{type(exc).__name__}: {exc}",
        }
    ticket_generation_success_record(booking=booking)
    return {"status": "done", **outcome}


def generation_retry_delay(*, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: base, 2x, 4x, ..."""
    base = tickets_settings().generation_retry_delay_seconds
    return exponential(base, max_delay=base * 32).seconds(attempts)


def ticket_generation_failure_record(*, booking: Booking, error: str) -> TicketGeneration:
    conf = tickets_settings()
    now = timezone.now()
    with transaction.atomic():
        entry, _ = TicketGeneration.objects.select_for_update().get_or_create(
            booking=booking,
            defaults={
                "admin_id": booking.verified_by_id,
                "max_attempts": conf.generation_max_attempts,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        entry.attempts += 1
        entry.last_attempt_at = now
        entry.last_error = error[-20000:]
        entry.processed_at = None
        if entry.attempts >= entry.max_attempts:
            entry.status = GenerationStatus.FAILED
        else:
            entry.status = GenerationStatus.PENDING
            entry.next_attempt_at = now + timedelta(
                seconds=generation_retry_delay(attempts=entry.attempts)
            )
        entry.save()
    if entry.status == GenerationStatus.FAILED:
        _mail_admins_generation_failed(entry=entry, booking=booking)
    return entry


def _mail_admins_generation_failed(*, entry: TicketGeneration, booking: Booking) -> None:
    try:
        mail_admins(
            subject=f"Ticket generation failed for booking {booking.id}",
            message=(
                f"Ticket generation for booking {booking.id} (event {booking.event.name}, "
                f"user {booking.user.get_username()}) failed {entry.attempts} time(s) and "
                "will not be retried automatically. Retry it from the admin "
                "(Ticket generation queue -> Retry now) once the cause is fixed.\n\n"
                f"Last error:\n{entry.last_error}"
            ),
            fail_silently=False,
        )
    except Exception:  # the row stays failed and visible; a lost mail must not hide it
        log.exception("could not mail the admins about booking %s", booking.id)


def ticket_generation_success_record(*, booking: Booking) -> bool:
    now = timezone.now()
    return bool(
        TicketGeneration.objects.filter(booking=booking)
        .exclude(status=GenerationStatus.DONE)
        .update(
            status=GenerationStatus.DONE,
            processed_at=now,
            last_attempt_at=now,
            attempts=F("attempts") + 1,
        )
    )


def ticket_generation_queue_process(
    *, now: datetime | None = None, batch_size: int | None = None
) -> dict:
    """Every 3 minutes: each due pending row gets a generation job. The rows are leased
    (next_attempt_at pushed ahead) so the next run does not hand them out again while their
    job waits; the attempt itself sets the real next time."""
    conf = tickets_settings()
    now = now or timezone.now()
    batch_size = batch_size or conf.sweep_batch_size
    enqueued = already = 0
    with transaction.atomic():
        rows = list(
            TicketGeneration.objects.select_for_update(skip_locked=True)
            .filter(status=GenerationStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("id", "booking_id")[:batch_size]
        )
        if rows:
            TicketGeneration.objects.filter(id__in=[r[0] for r in rows]).update(
                next_attempt_at=now + timedelta(seconds=conf.generation_lease_seconds)
            )
        for _, booking_id in rows:
            if ticket_generation_enqueue(booking_id=booking_id).created:
                enqueued += 1
            else:
                already += 1
    return {"due": len(rows), "enqueued": enqueued, "already_queued": already}


def ticket_generation_retry(*, booking: Booking, admin: AbstractBaseUser | None = None):
    """An admin asks for another go: the queue row (if any) gets a fresh set of attempts and
    a generation job runs now. Returns the job's LedgerResult."""
    conf = tickets_settings()
    now = timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != BookingStatus.PAID:
            raise BookingStateError(
                f"Only paid bookings get tickets; this one is {booking.status}."
            )
        TicketGeneration.objects.filter(booking=booking).update(
            status=GenerationStatus.PENDING,
            attempts=0,
            processed_at=None,
            next_attempt_at=now + timedelta(seconds=conf.generation_lease_seconds),
        )
        return ticket_generation_enqueue(booking_id=booking.id)
