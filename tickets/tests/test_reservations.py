"""Bookings: locks become a reservation with an expiry queue row; payment or expiry ends it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from jobs import assert_enqueued, refute_enqueued, run_enqueued_jobs
from tickets import services
from tickets.errors import ReservationExpired, SeatNotLocked
from tickets.models import (
    BookingSeat,
    BookingStatus,
    ReservationExpiry,
    Seat,
    SeatLock,
    SeatLockStatus,
    SeatStatus,
)
from tickets.tests.factories import BookingFactory
from tickets.tests.ledger import Job

pytestmark = pytest.mark.django_db


def status_of(seat):
    return Seat.objects.get(id=seat.id).status


@pytest.fixture
def reservation(clock, event, seats, user):
    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id, seats[1].id], user=user)
    return services.booking_create(event=event, user=user)


def test_a_booking_turns_the_users_locks_into_a_reservation_with_an_expiry_row(
    reservation, seats, user
):
    assert reservation.status == BookingStatus.RESERVED
    assert reservation.total_amount == Decimal("50.00")
    assert status_of(seats[0]) == status_of(seats[1]) == SeatStatus.RESERVED
    assert set(SeatLock.objects.values_list("status", flat=True)) == {SeatLockStatus.CONVERTED}
    entry = ReservationExpiry.objects.get(reservation=reservation)
    assert entry.user == user
    assert sorted(entry.seat_ids) == sorted([str(seats[0].id), str(seats[1].id)])
    assert (
        entry.expires_at == reservation.expires_at == reservation.created_at + timedelta(minutes=15)
    )
    assert entry.processed is False


def test_booking_seats_you_did_not_lock_is_refused(event, seats, user, other_user):
    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id], user=other_user)

    with pytest.raises(SeatNotLocked) as raised:
        services.booking_create(event=event, user=user, seat_ids=[seats[0].id])

    assert raised.value.extra["seat_ids"] == [str(seats[0].id)]
    with pytest.raises(SeatNotLocked):
        services.booking_create(event=event, user=user)


def test_an_unpaid_reservation_expires_and_frees_its_seats(clock, reservation, seats):
    clock.shift(timedelta(minutes=14))
    assert services.reservations_release_expired()["expired"] == 0

    clock.shift(timedelta(minutes=1))
    outcome = services.reservations_release_expired()

    assert outcome["expired"] == 1 and outcome["seats_released"] == 2
    reservation.refresh_from_db()
    assert reservation.status == BookingStatus.EXPIRED
    assert status_of(seats[0]) == status_of(seats[1]) == SeatStatus.AVAILABLE
    assert not BookingSeat.objects.filter(booking=reservation, active=True).exists()
    assert ReservationExpiry.objects.get(reservation=reservation).processed is True
    assert services.reservations_release_expired()["processed"] == 0


def test_freed_seats_can_be_booked_again_by_someone_else(
    clock, reservation, event, seats, other_user
):
    clock.shift(timedelta(minutes=16))
    services.reservations_release_expired()

    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id], user=other_user)
    second = services.booking_create(event=event, user=other_user)

    assert BookingSeat.objects.filter(seat=seats[0]).count() == 2
    assert BookingSeat.objects.get(seat=seats[0], active=True).booking == second


def test_verified_payment_books_the_seats_and_starts_generation_at_once(reservation, seats, staff):
    booking = services.booking_verify_payment(
        booking=reservation, admin=staff, payment_reference="PAY-1"
    )

    assert booking.status == BookingStatus.PAID and booking.verified_by == staff
    assert status_of(seats[0]) == status_of(seats[1]) == SeatStatus.BOOKED
    assert ReservationExpiry.objects.get(reservation=booking).processed is True
    assert_enqueued(
        task="tickets.generate_tickets",
        args=[booking.id],
        queue="tickets.generation",
        job_key=services.generation_job_key(booking.id),
    )


def test_verified_payment_ends_with_the_tickets_emailed_without_a_worker(
    reservation, staff, mailoutbox
):
    booking = services.booking_verify_payment(booking=reservation, admin=staff)

    # Generation runs, and enqueues the email job, which runs too: the ledger's own claim
    # and completion, in this process.
    summary = run_enqueued_jobs()

    assert summary.counts == {"completed": 2}
    assert_enqueued(task="tickets.email_tickets", args=[booking.id], status="completed")
    refute_enqueued()
    booking.refresh_from_db()
    assert booking.tickets.count() == 2 and booking.tickets_emailed_at is not None
    (message,) = mailoutbox
    assert message.to == [booking.user.email]
    assert message.attachments[0][0] == f"tickets-{booking.id}.pdf"


def test_verifying_twice_changes_nothing_and_queues_no_second_job(reservation, staff):
    services.booking_verify_payment(booking=reservation, admin=staff)
    services.booking_verify_payment(booking=reservation, admin=staff)

    assert Job.objects.filter(task="tickets.generate_tickets").count() == 1


def test_a_paid_booking_is_never_expired(clock, reservation, staff):
    services.booking_verify_payment(booking=reservation, admin=staff)
    clock.shift(timedelta(hours=1))

    assert services.reservations_release_expired()["expired"] == 0
    reservation.refresh_from_db()
    assert reservation.status == BookingStatus.PAID


def test_an_expired_reservation_cannot_be_paid(clock, reservation, staff):
    clock.shift(timedelta(minutes=15))

    with pytest.raises(ReservationExpired):
        services.booking_verify_payment(booking=reservation, admin=staff)


def test_a_seat_is_never_held_by_two_active_bookings(reservation, seats):
    other = BookingFactory(event=reservation.event)
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingSeat.objects.create(booking=other, seat=seats[0], active=True)
