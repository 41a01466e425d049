"""One place that turns errors into HTTP answers, for every API of the project.

Wired as DRF's ``EXCEPTION_HANDLER``. ``ApplicationError`` (and its subclasses in the
products) becomes ``{"detail", "code", "field", <field>: [message]}`` with the error's own
status; Django's request-size errors, which DRF would let through as an HTML 400 page,
become JSON like any other 400; everything else is DRF's standard answer.
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from jobs.errors import ApplicationError


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent | RequestDataTooBig):
        # DATA_UPLOAD_MAX_NUMBER_FIELDS and friends: Django's answer is an HTML page.
        exc = ParseError(f"request refused: {exc}")
    return exception_handler(exc, context)
