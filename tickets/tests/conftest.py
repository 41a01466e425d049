"""Fixtures of the tickets tests: a frozen clock, users, an event with seats, API clients."""

from datetime import UTC, datetime

import pytest
import time_machine

from tests.support.auth import jwt_client
from tickets.tests.factories import EventFactory, SeatFactory, StaffFactory, UserFactory

T0 = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """The clock stands still at T0 until the test moves it (clock.shift(seconds))."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def event(db):
    return EventFactory()


@pytest.fixture
def seats(event):
    return [SeatFactory(event=event, label=f"B{n}") for n in range(1, 11)]


@pytest.fixture
def api(user):
    return jwt_client(user)


@pytest.fixture
def staff_api(staff):
    return jwt_client(staff)
