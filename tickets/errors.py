"""Domain errors raised by the services.

Each is a ``jobs.ApplicationError``: the project's one DRF exception handler answers it with
``{"detail", "code", <extra>...}`` and its ``status``, so no view catches them. Raise them as
``SeatUnavailable(message, seat_ids=[...])``; the keyword arguments become keys of the body,
and ``field="seat_ids"`` marks a 400 about that input field (the body then also carries
``seat_ids: [message]``, as DRF's own validation errors do).
"""

from jobs import ApplicationError


class TicketsError(ApplicationError):
    """Base class. ``code`` is stable for clients, ``status`` is the HTTP status to answer."""

    code = "tickets_error"
    status = 409


class SeatUnavailable(TicketsError):
    code = "seat_unavailable"


class SeatLimitExceeded(TicketsError):
    code = "seat_limit_exceeded"


class SeatNotLocked(TicketsError):
    code = "seat_not_locked"


class EventClosed(TicketsError):
    code = "event_closed"


class SeatNotFound(TicketsError):
    code = "seat_not_found"
    status = 400


class ReservationExpired(TicketsError):
    code = "reservation_expired"


class BookingStateError(TicketsError):
    code = "booking_state"


class TicketsNotReady(TicketsError):
    code = "tickets_not_ready"


class UnknownJob(TicketsError):
    code = "unknown_job"
    status = 404
