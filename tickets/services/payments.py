"""Payment verification: an admin confirms a reservation was paid; its tickets follow."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from tickets.errors import BookingStateError, ReservationExpired
from tickets.models import Booking, BookingSeat, BookingStatus, ReservationExpiry, Seat, SeatStatus
from tickets.services.generation import ticket_generation_enqueue


def booking_verify_payment(
    *, booking: Booking, admin: AbstractBaseUser | None, payment_reference: str = ""
) -> Booking:
    """An admin confirms the payment: the booking is paid, its seats booked, and ticket
    generation starts at once (a job enqueued in this transaction, run right after commit).
    Verifying a paid booking again changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == BookingStatus.PAID:
            return booking
        if booking.status == BookingStatus.EXPIRED or booking.expires_at <= now:
            raise ReservationExpired(
                f"The reservation expired at {booking.expires_at.isoformat()}; its seats may "
                "be gone. The customer has to book again.",
                expires_at=booking.expires_at.isoformat(),
            )
        seat_ids = list(
            BookingSeat.objects.filter(booking=booking, active=True).values_list(
                "seat_id", flat=True
            )
        )
        booked = Seat.objects.filter(id__in=seat_ids, status=SeatStatus.RESERVED).update(
            status=SeatStatus.BOOKED, updated_at=now
        )
        if booked != len(seat_ids) or not seat_ids:
            raise BookingStateError("The booking's seats are not reserved for it any more.")
        booking.status = BookingStatus.PAID
        booking.paid_at = now
        booking.verified_by = admin
        booking.payment_reference = payment_reference
        booking.save(
            update_fields=["status", "paid_at", "verified_by", "payment_reference", "updated_at"]
        )
        ReservationExpiry.objects.filter(reservation=booking, processed=False).update(
            processed=True, processed_at=now
        )
        ticket_generation_enqueue(booking_id=booking.id)
    return booking
