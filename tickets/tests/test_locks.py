"""Seat locks: all-or-nothing locking, the per-user limit, release, and the expiry sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tickets import services
from tickets.errors import SeatLimitExceeded, SeatNotFound, SeatNotLocked, SeatUnavailable
from tickets.models import Seat, SeatLock, SeatLockStatus, SeatStatus
from tickets.tests.factories import SeatFactory, SeatLockFactory, UserFactory

pytestmark = pytest.mark.django_db


def statuses(seats):
    return [Seat.objects.get(id=s.id).status for s in seats]


def test_locking_available_seats_marks_them_locked_until_the_ttl(clock, event, seats, user):
    locks = services.seat_lock_acquire(event=event, seat_ids=[seats[0].id, seats[1].id], user=user)

    assert [lock.seat_id for lock in locks] == [seats[0].id, seats[1].id]
    assert statuses(seats[:2]) == [SeatStatus.LOCKED, SeatStatus.LOCKED]
    assert {lock.expires_at for lock in locks} == {timezone.now() + timedelta(seconds=600)}


def test_a_seat_locked_by_someone_else_cannot_be_locked(event, seats, user, other_user):
    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id], user=other_user)

    with pytest.raises(SeatUnavailable) as raised:
        services.seat_lock_acquire(event=event, seat_ids=[seats[0].id, seats[1].id], user=user)

    assert "B1" in raised.value.message
    # All or nothing: the free seat of the request was not locked either.
    assert statuses(seats[:2]) == [SeatStatus.LOCKED, SeatStatus.AVAILABLE]
    assert SeatLock.objects.filter(user=user).count() == 0


def test_locking_seats_you_already_hold_is_harmless(event, seats, user):
    first = services.seat_lock_acquire(event=event, seat_ids=[seats[0].id], user=user)
    again = services.seat_lock_acquire(event=event, seat_ids=[seats[0].id, seats[1].id], user=user)

    assert again[0].id == first[0].id
    assert SeatLock.objects.filter(user=user, status=SeatLockStatus.ACTIVE).count() == 2


def test_a_user_cannot_hold_more_seats_than_the_limit(settings, event, seats, user):
    settings.TICKETS_MAX_SEATS_PER_USER = 3
    services.seat_lock_acquire(event=event, seat_ids=[s.id for s in seats[:2]], user=user)

    with pytest.raises(SeatLimitExceeded) as raised:
        services.seat_lock_acquire(event=event, seat_ids=[s.id for s in seats[2:4]], user=user)

    assert raised.value.extra == {"limit": 3, "held": 2}
    services.seat_lock_acquire(event=event, seat_ids=[seats[2].id], user=user)
    assert SeatLock.objects.filter(user=user, status=SeatLockStatus.ACTIVE).count() == 3


def test_reserved_seats_count_towards_the_limit(settings, event, seats, user):
    settings.TICKETS_MAX_SEATS_PER_USER = 2
    services.seat_lock_acquire(event=event, seat_ids=[s.id for s in seats[:2]], user=user)
    services.booking_create(event=event, user=user)

    with pytest.raises(SeatLimitExceeded):
        services.seat_lock_acquire(event=event, seat_ids=[seats[2].id], user=user)


def test_seats_of_another_event_are_not_found(event, seats, user):
    elsewhere = SeatFactory()

    with pytest.raises(SeatNotFound) as raised:
        services.seat_lock_acquire(event=event, seat_ids=[seats[0].id, elsewhere.id], user=user)

    assert raised.value.extra["seat_ids"] == [str(elsewhere.id)]
    assert statuses(seats[:1]) == [SeatStatus.AVAILABLE]


def test_releasing_gives_back_only_your_own_locks(event, seats, user, other_user):
    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id], user=user)
    services.seat_lock_acquire(event=event, seat_ids=[seats[1].id], user=other_user)

    released = services.seat_lock_release(
        event=event, seat_ids=[seats[0].id, seats[1].id], user=user
    )

    assert released == [seats[0].id]
    assert statuses(seats[:2]) == [SeatStatus.AVAILABLE, SeatStatus.LOCKED]
    assert SeatLock.objects.get(seat=seats[0]).status == SeatLockStatus.RELEASED
    assert services.seat_lock_release(event=event, seat_ids=[seats[0].id], user=user) == []


def test_expired_locks_are_released_by_the_sweep_and_live_ones_kept(clock, event, seats, user):
    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id, seats[1].id], user=user)
    clock.shift(timedelta(minutes=5))
    services.seat_lock_acquire(event=event, seat_ids=[seats[2].id], user=user)

    clock.shift(timedelta(minutes=5, seconds=1))  # the first two are 10 min 1 s old
    outcome = services.seat_locks_release_expired()

    assert outcome["released"] == 2
    assert statuses(seats[:3]) == [SeatStatus.AVAILABLE, SeatStatus.AVAILABLE, SeatStatus.LOCKED]
    assert set(
        SeatLock.objects.filter(status=SeatLockStatus.EXPIRED).values_list("seat_id", flat=True)
    ) == {seats[0].id, seats[1].id}
    assert services.seat_locks_release_expired()["released"] == 0


def test_the_lock_sweep_works_in_bounded_batches(clock, event):
    owner = UserFactory()
    for n in range(7):
        SeatLockFactory(
            seat=SeatFactory(event=event, label=f"Z{n}", status=SeatStatus.LOCKED),
            user=owner,
            expires_at=timezone.now(),
        )

    outcome = services.seat_locks_release_expired(batch_size=3, max_batches=2)

    assert outcome == {"released": 6, "batches": 2, "notified": outcome["notified"]}
    assert SeatLock.objects.filter(status=SeatLockStatus.ACTIVE).count() == 1
    assert services.seat_locks_release_expired(batch_size=3)["released"] == 1


def test_an_expired_lock_cannot_be_turned_into_a_booking(clock, event, seats, user):
    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id], user=user)
    clock.shift(timedelta(minutes=11))

    with pytest.raises(SeatNotLocked):
        services.booking_create(event=event, user=user, seat_ids=[seats[0].id])
