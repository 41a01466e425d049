"""The one error model: every layer and every product raises ``ApplicationError``.

An application error carries what a client needs to act on it: a human ``message``, a
stable machine ``code``, the input ``field`` it is about (if any) and the HTTP ``status``
it answers with. Domain code raises it (or a subclass that fixes ``code`` and ``status``);
one DRF exception handler (``jobs.web.errors.api_exception_handler``) turns it into JSON, so
no view catches domain errors itself and nothing parses field names back out of strings.
"""

from typing import Any, ClassVar


class ApplicationError(Exception):
    """A request that cannot be done: bad input (400), wrong state (409), missing (404)."""

    code: ClassVar[str] = "invalid"
    status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # Instance values override the class defaults without touching the class.
        if code is not None:
            self.code = code  # type: ignore[misc]
        if status is not None:
            self.status = status  # type: ignore[misc]
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        """The JSON body: ``detail`` and ``code`` always; the field's name maps to its
        message (DRF's validation shape), so clients read both kinds of 400 alike."""
        body: dict[str, Any] = {"detail": self.message, "code": self.code, **self.extra}
        if self.field:
            body["field"] = self.field
            body[self.field] = [self.message]
        return body


class ConflictError(ApplicationError):
    """The target exists but its current state does not allow the operation."""

    code = "conflict"
    status = 409


class NotFoundError(ApplicationError):
    code = "not_found"
    status = 404


class InvalidInput(ApplicationError, ValueError):
    """A value the caller gave is not acceptable; ``field`` names it.

    Also a ``ValueError``, so code that validates with ``except ValueError`` keeps working.
    """

    code = "invalid"
    status = 400


class InvalidArguments(InvalidInput, TypeError):
    """The arguments of an enqueue do not fit the task's signature (``field`` is "args").

    Also a ``TypeError``, what Celery's own argument check raises, so code written for
    Celery's ``apply_async`` keeps working."""

    def __init__(self, message: str, *, field: str | None = "args", **kwargs: Any) -> None:
        super().__init__(message, field=field, **kwargs)


class PermanentError(Exception):
    """Raised by a task for a failure that no retry can fix (BullMQ's UnrecoverableError):
    the job fails at once, whatever attempts it has left."""
