"""The Redis address: ``REDIS_URL``, or the source documents' ``REDIS_HOST``, ``REDIS_PORT``,
``REDIS_PASSWORD`` and ``REDIS_DB`` when ``REDIS_URL`` is not set.

    REDIS_HOST=redis REDIS_PORT=6379 REDIS_PASSWORD=s3cret REDIS_DB=0
    -> redis://:s3cret@redis:6379/0

Imports nothing from Django's setup: the settings read it before anything else exists.
"""

from collections.abc import Mapping
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _number(environ: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be a whole number from 0 to {maximum}")
    return int(raw)


def redis_url(environ: Mapping[str, str]) -> str:
    """REDIS_URL if set (the REDIS_* parts are then ignored), else the URL the parts make."""
    url = environ.get("REDIS_URL", "").strip()
    if url:
        return url
    parts = ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB")
    if not any(environ.get(name) for name in parts):
        return DEFAULT_REDIS_URL
    host = environ.get("REDIS_HOST", "").strip() or "127.0.0.1"
    if any(c in host for c in "/@?# "):
        raise ImproperlyConfigured(f"REDIS_HOST={host!r} must be a host name or address")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    port = _number(environ, "REDIS_PORT", 6379, 65535)
    db = _number(environ, "REDIS_DB", 0, 1_000_000)
    password = environ.get("REDIS_PASSWORD", "")
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}{host}:{port}/{db}"
