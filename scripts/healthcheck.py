"""Container health checks used by docker-compose.yml: ``python scripts/healthcheck.py ROLE``.

ROLE is ``web``, ``flower`` or ``beat`` (workers answer ``celery inspect ping`` instead).
Exit status 0 means healthy.
"""

import json
import os
import sys
import urllib.error
import urllib.request


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_web() -> bool:
    """/healthz answers, and the web process' own dependencies (database, Redis) are up.

    A 503 caused only by the workers does not make web unhealthy: restarting web would not
    bring a worker back, and the worker services report their own health.
    """
    # Django checks the Host header against ALLOWED_HOSTS, and production redirects plain
    # HTTP to HTTPS unless the (trusted) proxy header says the request came in over TLS.
    host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
    if not host or host == "*":
        host = "localhost"
    port = os.environ.get("PORT", "8000")
    status, body = _get(
        f"http://127.0.0.1:{port}/healthz",
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    print(status, body.decode(errors="replace")[:500])
    if status == 200:
        return True
    if status != 503:
        return False
    components = json.loads(body).get("components", {})
    return all(components.get(name, {}).get("ok") for name in ("database", "redis"))


def check_flower() -> bool:
    """Flower's own /healthcheck page, the one page it serves without authentication."""
    status, body = _get(f"http://127.0.0.1:{os.environ.get('FLOWER_PORT', '5555')}/healthcheck")
    print(status, body.decode(errors="replace")[:200])
    return status == 200 and body.strip() == b"OK"


def check_beat() -> bool:
    """Beat's process is PID 1 and both things it needs (the database, Redis) answer."""
    with open("/proc/1/cmdline", "rb") as cmdline:
        if b"beat" not in cmdline.read():
            print("PID 1 is not celery beat")
            return False
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    import django

    django.setup()
    from django.db import connection

    from jobs.ledger.broker import redis_client

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM django_celery_beat_periodictask LIMIT 1")
    redis_client().ping()
    print("ok")
    return True


CHECKS = {"web": check_web, "flower": check_flower, "beat": check_beat}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CHECKS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(CHECKS)}")
    try:
        healthy = CHECKS[sys.argv[1]]()
    except Exception as exc:  # any failure to answer is unhealthy; say why in `docker inspect`
        print(f"{type(exc).__name__}: {exc}")
        healthy = False
    sys.exit(0 if healthy else 1)
