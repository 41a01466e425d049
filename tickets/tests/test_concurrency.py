"""Real parallel requests against PostgreSQL: each thread has its own connection and goes
through the whole Django stack (JWT auth, view, service, transaction)."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.support.auth import access_token
from tickets.models import Seat, SeatLock, SeatLockStatus, SeatStatus
from tickets.tests.factories import EventFactory, SeatFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def post_in_parallel(requests: list[tuple[str, str, dict]]) -> list:
    """POST every (token, url, body) at the same moment, one thread each."""
    barrier = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)

    def run(index: int, token: str, url: str, body: dict) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            barrier.wait(timeout=30)
            responses[index] = client.post(url, body, content_type="application/json")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return responses


def test_fifty_users_race_for_one_seat_and_exactly_one_wins():
    event = EventFactory()
    seat = SeatFactory(event=event, label="A1")
    tokens = [access_token(UserFactory()) for _ in range(50)]
    lock_url = reverse("tickets:seat-lock", args=[event.id])

    responses = post_in_parallel([(t, lock_url, {"seat_ids": [str(seat.id)]}) for t in tokens])

    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 409: 49}
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "seat_unavailable"
            assert response.json()["detail"].startswith("Seat(s) A1 are not available")
    assert Seat.objects.get(id=seat.id).status == SeatStatus.LOCKED
    assert SeatLock.objects.filter(seat=seat, status=SeatLockStatus.ACTIVE).count() == 1
    assert SeatLock.objects.count() == 1


def test_one_user_racing_for_many_seats_stays_within_the_limit(settings):
    settings.TICKETS_MAX_SEATS_PER_USER = 6
    event = EventFactory()
    seats = [SeatFactory(event=event, label=f"C{n}") for n in range(10)]
    token = access_token(UserFactory())
    lock_url = reverse("tickets:seat-lock", args=[event.id])

    responses = post_in_parallel([(token, lock_url, {"seat_ids": [str(s.id)]}) for s in seats])

    assert Counter(r.status_code for r in responses) == {201: 6, 409: 4}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"seat_limit_exceeded"}
    assert SeatLock.objects.filter(status=SeatLockStatus.ACTIVE).count() == 6
    assert Seat.objects.filter(status=SeatStatus.LOCKED).count() == 6


def test_overlapping_multi_seat_requests_never_deadlock_or_double_lock():
    event = EventFactory()
    seats = [SeatFactory(event=event, label=f"D{n}") for n in range(4)]
    lock_url = reverse("tickets:seat-lock", args=[event.id])
    # Pairs in opposite orders: the classic deadlock shape without ordered row locks.
    pairs = [(seats[i], seats[(i + 1) % 4]) for i in range(4)] * 3
    requests = [
        (access_token(UserFactory()), lock_url, {"seat_ids": [str(a.id), str(b.id)]})
        for a, b in (p if n % 2 else reversed(p) for n, p in enumerate(pairs))
    ]

    responses = post_in_parallel(requests)

    assert {r.status_code for r in responses} <= {201, 409}
    winners = [r.json()["locks"] for r in responses if r.status_code == 201]
    locked = [lock["seat_id"] for locks in winners for lock in locks]
    assert len(locked) == len(set(locked))  # no seat locked twice
    assert SeatLock.objects.filter(status=SeatLockStatus.ACTIVE).count() == len(locked)
