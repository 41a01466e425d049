"""Flower's configuration file, read by the plain ``celery -A config flower``.

``config/celery.py`` points Flower at this file (``FLOWER_CONF``; ``--conf=`` still wins),
so every way of starting Flower gets the same defaults:

- **Basic auth from FLOWER_USER / FLOWER_PASSWORD**, kept out of the command line (where
  ``ps`` would show them). Without credentials (nor ``--basic-auth`` or ``--auth``) Flower
  refuses to start; outside a local run a placeholder or short password is refused too.
- **/metrics behind the same auth.** Flower 2.2 serves its Prometheus page (task and
  worker names) to anyone and has no option for it; the page is wrapped here. Its
  ``/api/*`` already needs the credentials once they are set; ``/healthcheck`` (a bare
  "OK", for container health checks) stays open.
- **Listens on 127.0.0.1** unless ``--address`` (or FLOWER_ADDRESS) says otherwise: the
  container sets ``--address=0.0.0.0`` and docker-compose publishes the port on the
  host's loopback only.

Tornado executes this file; every top-level name that matches a Flower option sets it, so
helpers here start with an underscore.
"""

import os as _os
import sys as _sys

import tornado.web as _web
from flower.views import monitor as _monitor
from tornado.options import options as _options

_LOCAL_SETTINGS = "config.settings.local"
_PLACEHOLDERS = ("change-me", "changeme")
_MIN_PASSWORD = 12

_user = _os.environ.get("FLOWER_USER", "").strip()
_password = _os.environ.get("FLOWER_PASSWORD", "")
_local = _os.environ.get("DJANGO_SETTINGS_MODULE") == _LOCAL_SETTINGS


def _refuse(reason: str) -> None:
    _sys.exit(f"Flower will not start: {reason}")


if _user and _password:
    if not _local and (
        len(_password) < _MIN_PASSWORD or _password.lower().startswith(_PLACEHOLDERS)
    ):
        _refuse(
            f"FLOWER_PASSWORD is a placeholder or shorter than {_MIN_PASSWORD} characters "
            "(only a local run, DJANGO_SETTINGS_MODULE=config.settings.local, may use one)."
        )
    basic_auth = [f"{_user}:{_password}"]
elif not (_options.basic_auth or _options.auth):
    # --basic-auth / --auth on the command line (parsed before this file) also count.
    _refuse("set FLOWER_USER and FLOWER_PASSWORD (its basic auth), or pass --basic-auth.")

# Env (FLOWER_ADDRESS) and command line were applied before this file: keep theirs.
address = _options.address or "127.0.0.1"


def _metrics_prepare(handler) -> None:
    # Resolving current_user runs Flower's own check: a missing or wrong basic-auth header
    # raises 401 (with the WWW-Authenticate challenge); OAuth without a session is None.
    if not handler.current_user:
        raise _web.HTTPError(401)


_monitor.Metrics.prepare = _metrics_prepare
