"""A database outage answers 503 with ``Retry-After``, never a 500 or an HTML debug page.

PostgreSQL down, restarting, out of connections, or this process's connection pool
exhausted: each reaches the request as Django's ``OperationalError`` or ``InterfaceError``,
from a view, a serializer or a middleware (the session, the lockout). Django turns such an
exception into a 500 before any outer middleware sees it, but first sends
``got_request_exception`` while the exception is being handled; the receiver below marks the
request, and ``DatabaseOutageMiddleware`` (outermost) replaces that 500 with a 503 that says
when to try again: JSON under ``/api/``, a short page elsewhere. Nothing was written, so the
client's retry is safe.
"""

import logging
import sys
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
OUTAGE_ATTRIBUTE = "_database_outage"
API_PREFIX = "/api/"


@receiver(got_request_exception, dispatch_uid="jobs.web.outages")
def _mark_database_outage(sender, request: HttpRequest | None = None, **kwargs) -> None:
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, OperationalError | InterfaceError):
        setattr(request, OUTAGE_ATTRIBUTE, f"{type(exc).__name__}: {exc}".strip())


def database_unavailable(request: HttpRequest) -> HttpResponse:
    detail = "The database is unavailable; nothing was changed. Try again shortly."
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(
            {"detail": detail, "code": "database_unavailable"}, status=503
        )
    else:
        response = HttpResponse(
            f"<!doctype html><title>Unavailable</title><h1>Service unavailable</h1><p>{detail}",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseOutageMiddleware:
    """Outermost middleware: a request that failed on the database answers 503."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if iscoroutinefunction(self):
            return self._acall(request)
        return self._answer(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return self._answer(request, await self.get_response(request))

    def _answer(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        outage = getattr(request, OUTAGE_ATTRIBUTE, None)
        if outage is None or response.status_code < 500:
            return response
        log.warning(
            "%s %s: database unavailable (%s); answered 503", request.method, request.path, outage
        )
        return database_unavailable(request)
