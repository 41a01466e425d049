"""Prometheus ``/metrics``: per-queue gauges and job duration histograms.

A custom collector reads the ledger at scrape time (the same index-backed selectors as the
API), so the workers' hot path records nothing extra and every web process answers alike.
Access: clients in JOBS_METRICS_ALLOWED_IPS (addresses or networks) need nothing; anyone
else must be staff, by HTTP basic auth, a JWT bearer token or a session.
"""

import base64
import binascii
import ipaddress
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CollectorRegistry,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

log = logging.getLogger(__name__)


class LedgerCollector:
    """Builds every metric family from the ledger when Prometheus scrapes."""

    def collect(self):
        from jobs import selectors
        from jobs.models import Alert, WorkerProcess

        now = timezone.now()
        queues = selectors.queue_names()
        counts = selectors.queue_status_counts(queues)
        paused = selectors.paused_queues()
        depths = selectors.broker_depths(queues)

        jobs = GaugeMetricFamily(
            "jobs_queue_jobs", "Jobs in the ledger by queue and status.", labels=["queue", "status"]
        )
        paused_gauge = GaugeMetricFamily(
            "jobs_queue_paused", "1 if the queue is paused.", labels=["queue"]
        )
        depth = GaugeMetricFamily(
            "jobs_queue_broker_depth", "Messages waiting in Redis for the queue.", labels=["queue"]
        )
        for queue in queues:
            for status, n in counts[queue].items():
                jobs.add_metric([queue, status], n)
            paused_gauge.add_metric([queue], int(selectors.is_paused(queue, paused)))
            if depths.get(queue) is not None:
                depth.add_metric([queue], depths[queue])
        yield jobs
        yield paused_gauge
        yield depth

        window = selectors.finished_window_stats(
            since=now - selectors.WINDOW, until=now + timedelta(seconds=1)
        )
        rate = GaugeMetricFamily(
            "jobs_queue_failure_rate_last_hour",
            "Percentage of the queue's jobs finished in the last hour that failed.",
            labels=["queue"],
        )
        for queue, stats in window.items():
            if stats.failure_rate is not None:
                rate.add_metric([queue], stats.failure_rate)
        yield rate

        histogram = HistogramMetricFamily(
            "jobs_duration_seconds",
            "Run time of the jobs that finished in the last hour (completed or failed).",
            labels=["queue"],
        )
        for queue, h in sorted(
            selectors.duration_histograms(
                since=now - selectors.WINDOW, until=now + timedelta(seconds=1)
            ).items()
        ):
            buckets = [(_bound(le), n) for le, n in h.buckets] + [("+Inf", h.count)]
            histogram.add_metric([queue], buckets, sum_value=h.sum)
        yield histogram

        cutoff = now - timedelta(seconds=settings.JOBS_HEARTBEAT_TIMEOUT)
        workers = GaugeMetricFamily(
            "jobs_workers_live", "Worker processes with a recent heartbeat.", labels=["role"]
        )
        for role in ("main", "child"):
            workers.add_metric(
                [role], WorkerProcess.objects.filter(role=role, last_seen__gte=cutoff).count()
            )
        yield workers

        alerts = GaugeMetricFamily("jobs_alerts_open", "Open alerts by rule.", labels=["rule"])
        open_by_rule: dict[str, int] = {}
        for rule in Alert.objects.filter(resolved_at=None).values_list("rule", flat=True):
            open_by_rule[rule] = open_by_rule.get(rule, 0) + 1
        for rule, n in sorted(open_by_rule.items()):
            alerts.add_metric([rule], n)
        yield alerts


def _bound(value: float) -> str:
    return repr(float(value))


def _client_allowed(request: HttpRequest) -> bool:
    address = request.META.get("REMOTE_ADDR", "")
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.JOBS_METRICS_ALLOWED_IPS:
        try:
            if client in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            log.warning("JOBS_METRICS_ALLOWED_IPS: ignoring %r", entry)
    return False


def _user_from_credentials(request: HttpRequest):
    """The user of a Basic or Bearer (JWT) Authorization header, or the session's."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(credentials).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return authenticate(request, username=username, password=password)
    if scheme.lower() == "bearer":
        from rest_framework_simplejwt.authentication import JWTAuthentication
        from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

        auth = JWTAuthentication()
        try:
            return auth.get_user(auth.get_validated_token(credentials.strip()))
        except (InvalidToken, TokenError):
            return None
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
