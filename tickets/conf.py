"""The tickets app's settings, with the defaults used when config/settings has none."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class TicketsSettings:
    max_seats_per_user: int
    lock_ttl_seconds: int
    reservation_ttl_seconds: int
    sweep_batch_size: int
    sweep_max_batches: int
    generation_max_attempts: int
    generation_retry_delay_seconds: int
    generation_lease_seconds: int
    stuck_after_seconds: int


def tickets_settings() -> TicketsSettings:
    """Read on every call, so tests can change a value with the ``settings`` fixture."""
    return TicketsSettings(
        max_seats_per_user=getattr(settings, "TICKETS_MAX_SEATS_PER_USER", 6),
        lock_ttl_seconds=getattr(settings, "TICKETS_LOCK_TTL_SECONDS", 600),
        reservation_ttl_seconds=getattr(settings, "TICKETS_RESERVATION_TTL_SECONDS", 900),
        sweep_batch_size=getattr(settings, "TICKETS_SWEEP_BATCH_SIZE", 500),
        sweep_max_batches=getattr(settings, "TICKETS_SWEEP_MAX_BATCHES", 20),
        generation_max_attempts=getattr(settings, "TICKETS_GENERATION_MAX_ATTEMPTS", 5),
        generation_retry_delay_seconds=getattr(
            settings, "TICKETS_GENERATION_RETRY_DELAY_SECONDS", 180
        ),
        generation_lease_seconds=getattr(settings, "TICKETS_GENERATION_LEASE_SECONDS", 600),
        stuck_after_seconds=getattr(settings, "TICKETS_STUCK_AFTER_SECONDS", 1800),
    )
