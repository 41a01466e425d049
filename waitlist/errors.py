"""Errors the waitlist services raise. They are ``jobs.ApplicationError``s: the project's one
DRF exception handler renders them (400 for bad input, 409 for a state that does not allow
the request); the public pages catch the hold errors to render a page instead."""

from jobs import ApplicationError

# Codes about the input (400); every other code names the state the request ran into (409).
INPUT_ERROR_CODES = frozenset({"invalid", "does_not_exist", "duplicate"})


class WaitlistError(ApplicationError):
    """A request that cannot be done in the current state. ``field`` names the input."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str = "invalid",
        status: int | None = None,
        **extra,
    ):
        if status is None:
            status = 400 if code in INPUT_ERROR_CODES else 409
        super().__init__(message, field=field, code=code, status=status, **extra)


class HoldNotActive(WaitlistError):
    """The hold was confirmed, declined, expired or cancelled already."""

    def __init__(self, hold_status: str):
        super().__init__(f"this hold is {hold_status}, not active", field="hold", code=hold_status)
        # Not ``status``: on an application error that is the HTTP status.
        self.hold_status = hold_status


class HoldExpired(WaitlistError):
    """The hold's time ran out (the sweeper may not have released it yet)."""

    def __init__(self):
        super().__init__("this hold has expired", field="hold", code="expired")


class NotificationTemporaryFailure(Exception):
    """A send failed for a reason that may pass (SMTP hiccup, network): retried with backoff."""
