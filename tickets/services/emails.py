"""The tickets email: the stored PDF sent to the booking's user, once (again on request)."""

import uuid

from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from tickets.errors import BookingStateError
from tickets.models import Booking, BookingStatus
from tickets.services.pdfs import ticket_pdf_ensure
from tickets.tasks import email_tickets


def email_job_key(booking_id: uuid.UUID | str) -> str:
    return f"tickets.email:{booking_id}"


def tickets_email_enqueue(*, booking_id: uuid.UUID | str):
    """Queue the booking's email job (published after commit); while one is live, that one
    is returned instead of a second. Returns the job's LedgerResult."""
    return email_tickets.apply_async((str(booking_id),), job_key=email_job_key(booking_id))


def tickets_email_send(*, booking_id: uuid.UUID | str) -> dict:
    """Email the ticket PDF to the booking's user, once. SMTP errors propagate so the job
    retries them (transient by nature)."""
    booking = Booking.objects.select_related("event", "user").filter(id=booking_id).first()
    if booking is None:
        return {"status": "missing_booking", "booking_id": str(booking_id)}
    if booking.status != BookingStatus.PAID:
        return {"status": "skipped", "reason": f"booking is {booking.status}"}
    if booking.tickets_emailed_at is not None:
        return {"status": "already_sent", "at": booking.tickets_emailed_at.isoformat()}
    address = booking.user.email
    if not address:
        return {"status": "no_email"}
    document = ticket_pdf_ensure(booking=booking)
    context = {"booking": booking, "event": booking.event, "count": document.ticket_count}
    message = EmailMessage(
        subject=f"Your tickets for {booking.event.name}",
        body=render_to_string("tickets/email/tickets_ready.txt", context),
        to=[address],
    )
    message.attach(f"tickets-{booking.id}.pdf", bytes(document.content), "application/pdf")
    message.send(fail_silently=False)
    Booking.objects.filter(id=booking.id, tickets_emailed_at__isnull=True).update(
        tickets_emailed_at=timezone.now()
    )
    return {"status": "sent", "to": address, "pdf_bytes": document.size}


def tickets_email_resend(*, booking: Booking):
    """Send the tickets again (admin action); returns the email job's LedgerResult."""
    if booking.status != BookingStatus.PAID:
        raise BookingStateError(f"Only paid bookings have tickets; this one is {booking.status}.")
    with transaction.atomic():
        Booking.objects.filter(id=booking.id).update(tickets_emailed_at=None)
        return tickets_email_enqueue(booking_id=booking.id)
