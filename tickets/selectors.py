"""Reads of the tickets app: availability, a user's holds and bookings, ticket documents."""

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tickets.models import (
    Booking,
    BookingSeat,
    BookingStatus,
    Event,
    Seat,
    SeatLock,
    SeatLockStatus,
    SeatStatus,
    Ticket,
)
from tickets.pdf import TicketDocument, TicketLine


def events_list(*, include_past: bool = False, now: datetime | None = None) -> QuerySet[Event]:
    """Events with their seat counts per status (one query)."""
    events = Event.objects.annotate(
        seats_total=Count("seats"),
        seats_available=Count("seats", filter=Q(seats__status=SeatStatus.AVAILABLE)),
    )
    if not include_past:
        events = events.filter(starts_at__gte=now or timezone.now())
    return events.order_by("starts_at", "name")


def event_get(*, event_id: uuid.UUID) -> Event | None:
    return events_list(include_past=True).filter(id=event_id).first()


def event_seats(*, event: Event, status: str | None = None) -> QuerySet[Seat]:
    seats = Seat.objects.filter(event=event).order_by("label")
    if status:
        seats = seats.filter(status=status)
    return seats


def event_seat_counts(*, event: Event) -> dict[str, int]:
    counts = dict.fromkeys(SeatStatus.values, 0)
    for row in Seat.objects.filter(event=event).values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def user_live_locks(
    *, user: AbstractBaseUser, event: Event | None = None, now: datetime | None = None
) -> QuerySet[SeatLock]:
    """The user's locks that still hold their seats (active and not past their expiry)."""
    locks = SeatLock.objects.filter(
        user=user, status=SeatLockStatus.ACTIVE, expires_at__gt=now or timezone.now()
    ).select_related("seat")
    if event is not None:
        locks = locks.filter(event=event)
    return locks.order_by("seat__label")


def seats_held_count(*, user: AbstractBaseUser, event: Event, now: datetime) -> int:
    """Seats the user holds for the event and has not paid for: live locks plus the seats
    of unpaid reservations. This is what TICKETS_MAX_SEATS_PER_USER limits."""
    locked = user_live_locks(user=user, event=event, now=now).count()
    reserved = BookingSeat.objects.filter(
        active=True,
        booking__user=user,
        booking__event=event,
        booking__status=BookingStatus.RESERVED,
    ).count()
    return locked + reserved


def bookings_visible_to(*, user: AbstractBaseUser) -> QuerySet[Booking]:
    """Staff see every booking; anyone else only their own (others answer 404, not 403)."""
    bookings = Booking.objects.select_related(
        "event", "user", "ticket_generation"
    ).prefetch_related("booking_seats__seat", "tickets__seat")
    if not user.is_staff:
        bookings = bookings.filter(user=user)
    return bookings.order_by("-created_at")


def booking_tickets(*, booking: Booking) -> list[Ticket]:
    tickets = Ticket.objects.filter(booking=booking).select_related("seat")
    return list(tickets.order_by("seat__label"))


def ticket_document(*, booking: Booking, tickets: list[Ticket]) -> TicketDocument:
    """Everything the PDF shows, loaded up front so rendering needs no database."""
    user = booking.user
    holder = user.get_full_name() or user.get_username()
    return TicketDocument(
        booking_id=str(booking.id),
        event_name=booking.event.name,
        venue=booking.event.venue,
        starts_at=timezone.localtime(booking.event.starts_at),
        holder=holder,
        tickets=tuple(
            TicketLine(
                ticket_id=str(t.id), seat_label=t.seat.label, section=t.seat.section, code=t.code
            )
            for t in tickets
        ),
    )
