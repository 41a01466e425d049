"""GET /metrics for Prometheus: who may scrape, and the answer in the exposition format.

Clients in JOBS_METRICS_ALLOWED_IPS (addresses or networks) need nothing; anyone else must
be staff, by HTTP basic auth, a JWT bearer token or a session. The client's address is the
project's one (``jobs.web.client_address``: forwarded headers only from trusted proxies).
Basic auth goes through ``authenticate(request, ...)``, so the login lockout
(``jobs.web.lockout``) counts its failures; a Bearer token follows the API's rule
(``jobs.web.auth``). Bad credentials of any shape answer 401, never an error. The metrics
themselves are built by ``jobs.observability.prometheus.LedgerCollector`` at scrape time.
"""

import base64
import ipaddress
import logging

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry

from jobs.conf import jobs_settings
from jobs.observability.prometheus import LedgerCollector
from jobs.web.auth import user_from_jwt, username_max_length
from jobs.web.client_address import client_address

log = logging.getLogger(__name__)


def _client_allowed(request: HttpRequest) -> bool:
    try:
        client = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    for entry in jobs_settings().metrics_allowed_ips:
        try:
            if client in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            log.warning("JOBS_METRICS_ALLOWED_IPS: ignoring %r", entry)
    return False


def _could_be_a_username(username: str) -> bool:
    return "\x00" not in username and len(username) <= username_max_length()


def _user_from_credentials(request: HttpRequest):
    """The user of a Basic or Bearer (JWT) Authorization header, or the session's."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(credentials).decode().partition(":")
        except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8 inside
            return None
        if not _could_be_a_username(username):
            return None  # no account has it, and the database would refuse to look it up
        return authenticate(request, username=username, password=password)
    if scheme.lower() == "bearer":
        return user_from_jwt(credentials)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _unauthorized() -> HttpResponse:
    response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Basic realm="metrics"'
    return response


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    if not _client_allowed(request):
        user = _user_from_credentials(request)
        if user is None or not user.is_active:
            return _unauthorized()
        if not user.is_staff:
            return HttpResponse("staff only\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
