"""Errors the waitlist services raise; views turn them into 400/409 answers or pages."""


class WaitlistError(Exception):
    """A request that cannot be done in the current state. ``field`` names the input."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class HoldNotActive(WaitlistError):
    """The hold was confirmed, declined, expired or cancelled already."""

    def __init__(self, status: str):
        super().__init__(f"this hold is {status}, not active", field="hold", code=status)
        self.status = status


class HoldExpired(WaitlistError):
    """The hold's time ran out (the sweeper may not have released it yet)."""

    def __init__(self):
        super().__init__("this hold has expired", field="hold", code="expired")


class NotificationTemporaryFailure(Exception):
    """A send failed for a reason that may pass (SMTP hiccup, network): retried with backoff."""
