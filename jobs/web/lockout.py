"""Lockout after repeated failed logins (django-axes), for every place that checks a password.

The admin's login form, the API login (``POST /api/auth/token/``) and ``/metrics``' basic
auth all check passwords through ``django.contrib.auth.authenticate(request, ...)``.
``LockoutBackend``, first in AUTHENTICATION_BACKENDS, refuses a username from a client
address (``jobs.web.client_address``) once it has failed ``AXES_FAILURE_LIMIT`` times
within ``AXES_COOLOFF_TIME``, before the password is even looked at; each further failure
starts the cool-off again. Axes records the failures in its tables (visible, and
resettable, in the admin).

What a locked-out client gets: the API login a JSON 429 (``jobs.web.auth_views``); the admin
login page a 429 and ``/metrics`` a 403, both from ``lockout_response`` (AXES_LOCKOUT_CALLABLE,
called by axes' middleware), each with ``Retry-After``.
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse


class LockoutBackend(AxesStandaloneBackend):
    """Axes' backend, except for ``authenticate()`` without a request: that call comes from
    code on the server (the test client's ``login()``, a shell), not from a client that
    could be guessing, and axes would raise for it. Every HTTP path passes its request."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_seconds(request: Any) -> int:
    """How long the lockout lasts from now (the cool-off restarts with each failure)."""
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off is not None else 0


def lockout_response(request: HttpRequest, *_: object) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the answer to a request that failed a login while locked out
    (or that reached the failure limit). Axes passes the view's response and the
    credentials too, in an order that depends on its sync or async path: not used."""
    match = request.resolver_match
    # /metrics refuses like it refuses any caller without valid credentials, so a scraper's
    # alerting reports an authorisation problem; the admin's login page says "slow down".
    metrics = match is not None and match.url_name == "prometheus-metrics"
    status = 403 if metrics else 429
    response = HttpResponse(
        "Too many failed logins: this account is locked out from your address for a while.\n",
        status=status,
        content_type="text/plain",
    )
    seconds = lockout_seconds(request)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
