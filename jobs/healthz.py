"""GET /healthz: database, Redis and at least one live worker, as JSON (200 or 503)."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def _redis() -> dict:
    from jobs.broker import redis_client

    redis_client().ping()
    return {"ok": True}


def _workers() -> dict:
    from jobs.models import WorkerProcess

    cutoff = timezone.now() - timedelta(seconds=settings.JOBS_HEARTBEAT_TIMEOUT)
    hosts = sorted(
        WorkerProcess.objects.filter(role="main", last_seen__gte=cutoff).values_list(
            "name", flat=True
        )
    )
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
