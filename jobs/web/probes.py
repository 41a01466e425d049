"""GET /healthz: database, Redis and at least one live worker, as JSON (200 or 503)."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from jobs.ledger.broker import redis_client
from jobs.ledger.workers import live_workers


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def _redis() -> dict:
    redis_client().ping()
    return {"ok": True}


def _workers() -> dict:
    hosts = sorted(live_workers(role="main").values_list("name", flat=True))
    if not hosts:
        return {"ok": False, "error": "no worker has sent a heartbeat recently", "live": []}
    return {"ok": True, "live": hosts}


@require_GET
def healthz(request):
    components = {}
    for name, check in (("database", _database), ("redis", _redis), ("workers", _workers)):
        try:
            components[name] = check()
        except Exception as exc:
            components[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    healthy = all(c["ok"] for c in components.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "components": components},
        status=200 if healthy else 503,
    )
