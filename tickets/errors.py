"""Domain errors raised by the services; the API turns each into one clear response."""


class TicketsError(Exception):
    """Base class. ``code`` is stable for clients, ``status`` is the HTTP status to answer."""

    code = "tickets_error"
    status = 409

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


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
