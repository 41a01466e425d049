"""The tickets app's settings: the one place that reads them, with their types and defaults.

Each field ``name`` is the setting ``TICKETS_<NAME>``, looked up in this order: a Django
setting of that name (tests change it with the ``settings`` fixture), else the environment
variable of that name, else the default below. Every value is a whole number of at least 1;
anything else stops the start with ``ImproperlyConfigured`` (``TicketsConfig.ready`` reads
them once).
"""

from dataclasses import dataclass, fields

import environ
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "TICKETS_"

_env = environ.Env()


@dataclass(frozen=True)
class TicketsSettings:
    # Seats one user may hold for an event: live locks plus seats of unpaid reservations.
    max_seats_per_user: int = 6
    # How long a lock holds a seat while its user decides.
    lock_ttl_seconds: int = 600
    # How long a reservation waits for its payment.
    reservation_ttl_seconds: int = 900
    # Bounds of one sweep run: rows per batch, batches per run.
    sweep_batch_size: int = 500
    sweep_max_batches: int = 20
    # Generation attempts (the first, immediate one included) before the row is failed.
    generation_max_attempts: int = 5
    # Delay after the first failed attempt; it doubles after each further one.
    generation_retry_delay_seconds: int = 180
    # How long a generation row handed to a job is not handed out again.
    generation_lease_seconds: int = 600
    # When the repair calls a queue row or a job stuck.
    stuck_after_seconds: int = 1800


def _read(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    try:
        if value is None:
            value = _env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1") from exc
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1")
    return value


def tickets_settings() -> TicketsSettings:
    """Read on every call, so tests can change a value with the ``settings`` fixture."""
    return TicketsSettings(
        **{f.name: _read(PREFIX + f.name.upper(), f.default) for f in fields(TicketsSettings)}
    )
