"""The stored ticket PDF of a booking: rendered once, kept, so email and download agree."""

from django.utils import timezone

from tickets import pdf, selectors
from tickets.errors import TicketsNotReady
from tickets.models import Booking, Ticket, TicketPdf


def ticket_pdf_store(*, booking: Booking, tickets: list[Ticket]) -> TicketPdf:
    """Render the tickets' PDF and keep it as the booking's document (replacing an older one).
    Rendering is the slow part: callers run this outside any transaction."""
    content = pdf.render_tickets_pdf(selectors.ticket_document(booking=booking, tickets=tickets))
    stored, _ = TicketPdf.objects.update_or_create(
        booking=booking,
        defaults={
            "content": content,
            "size": len(content),
            "ticket_count": len(tickets),
            "rendered_at": timezone.now(),
        },
    )
    return stored


def ticket_pdf_ensure(*, booking: Booking) -> TicketPdf:
    """The stored PDF, rendered from the existing tickets if it is missing."""
    stored = TicketPdf.objects.filter(booking=booking).first()
    if stored is not None:
        return stored
    tickets = selectors.booking_tickets(booking=booking)
    if not tickets:
        raise TicketsNotReady("The tickets of this booking have not been generated yet.")
    return ticket_pdf_store(booking=booking, tickets=tickets)
