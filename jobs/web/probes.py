"""GET /healthz: the load balancer's probe. 200 or 503, and which part is down.

Anyone can call it, so it says only up or down for the database, Redis and the workers:
no host names, process ids, database vendor or error text (a connection error names the
host and port it tried). The reason is logged here; the details (workers by name, queues,
schedules, alerts) are on the staff-only ``GET /api/jobs/health``.
"""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from jobs.ledger.broker import redis_client
from jobs.ledger.workers import live_workers

log = logging.getLogger(__name__)


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True


def _redis() -> bool:
    redis_client().ping()
    return True


def _workers() -> bool:
    if live_workers(role="main").exists():
        return True
    log.warning("healthz: no worker has sent a heartbeat recently")
    return False


@require_GET
def healthz(request):
    components = {}
    for name, check in (("database", _database), ("redis", _redis), ("workers", _workers)):
        try:
            ok = check()
        except Exception as exc:
            log.warning("healthz: %s is down: %s: %s", name, type(exc).__name__, exc)
            ok = False
        components[name] = {"ok": ok}
    healthy = all(c["ok"] for c in components.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "components": components},
        status=200 if healthy else 503,
    )
