"""factory_boy factories for the tickets models."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from tickets.models import (
    Booking,
    BookingSeat,
    BookingStatus,
    Event,
    ReservationExpiry,
    Seat,
    SeatLock,
    SeatStatus,
    TicketGeneration,
)

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"fan{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Fan{n}")
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class EventFactory(DjangoModelFactory):
    class Meta:
        model = Event

    name = factory.Sequence(lambda n: f"Concert {n}")
    venue = "Main Hall"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class SeatFactory(DjangoModelFactory):
    class Meta:
        model = Seat

    event = factory.SubFactory(EventFactory)
    label = factory.Sequence(lambda n: f"A{n + 1}")
    section = "A"
    price = "25.00"


class SeatLockFactory(DjangoModelFactory):
    """A live lock: the seat is marked locked, as seat_lock_acquire would leave it."""

    class Meta:
        model = SeatLock

    seat = factory.SubFactory(SeatFactory, status=SeatStatus.LOCKED)
    event = factory.SelfAttribute("seat.event")
    user = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda lock: lock.created_at + timedelta(minutes=10))


class BookingFactory(DjangoModelFactory):
    class Meta:
        model = Booking

    event = factory.SubFactory(EventFactory)
    user = factory.SubFactory(UserFactory)
    status = BookingStatus.RESERVED
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda b: b.created_at + timedelta(minutes=15))


class BookingSeatFactory(DjangoModelFactory):
    class Meta:
        model = BookingSeat

    booking = factory.SubFactory(BookingFactory)
    seat = factory.SubFactory(
        SeatFactory, event=factory.SelfAttribute("..booking.event"), status=SeatStatus.RESERVED
    )
    price = factory.SelfAttribute("seat.price")


class ReservationExpiryFactory(DjangoModelFactory):
    class Meta:
        model = ReservationExpiry

    reservation = factory.SubFactory(BookingFactory)
    user = factory.SelfAttribute("reservation.user")
    seat_ids = factory.List([])
    expires_at = factory.SelfAttribute("reservation.expires_at")
    created_at = factory.LazyFunction(timezone.now)


class TicketGenerationFactory(DjangoModelFactory):
    class Meta:
        model = TicketGeneration

    booking = factory.SubFactory(BookingFactory, status=BookingStatus.PAID)
    attempts = 1
    max_attempts = 5
    next_attempt_at = factory.LazyFunction(timezone.now)
    created_at = factory.LazyFunction(timezone.now)


def paid_booking(*, seats: int = 2, user=None, event=None, **kwargs) -> Booking:
    """A paid booking with booked seats and no tickets yet (as right after verification)."""
    booking = BookingFactory(
        status=BookingStatus.PAID,
        paid_at=timezone.now(),
        **({"user": user} if user else {}),
        **({"event": event} if event else {}),
        **kwargs,
    )
    for _ in range(seats):
        BookingSeatFactory(
            booking=booking, seat=SeatFactory(event=booking.event, status=SeatStatus.BOOKED)
        )
    return booking
