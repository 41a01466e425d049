"""Checks that every seat request (lock, booking) runs first, before it touches a seat."""

import uuid
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from tickets.errors import EventClosed
from tickets.models import Event


def unique_ids(seat_ids: Iterable[uuid.UUID | str]) -> list[uuid.UUID]:
    seen: dict[uuid.UUID, None] = {}
    for value in seat_ids:
        seen[value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))] = None
    return list(seen)


def lock_user_row(user: AbstractBaseUser) -> None:
    # One user's lock and booking requests run one at a time, so two parallel requests
    # cannot both pass the per-user seat limit. Other users are not held up.
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))


def ensure_open(event: Event, now: datetime) -> None:
    if event.starts_at <= now:
        raise EventClosed("This event has started; its seats can no longer be booked.")
