"""Settings for a developer's machine: ``make run`` (scripts/run-local.sh names this module;
a bare ``manage.py`` or ``celery -A config`` gets the production settings instead).

No environment is needed: SQLite in WAL mode under ``var/``, Redis on localhost, DEBUG on,
static files served straight from the apps, emails on the console, and a secret key made
at random on first use and kept in ``var/secret_key`` (so no two installs share one, and
tokens signed by one never open another). Every value can still be set by its environment
variable (or in ``.env``).
"""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

import environ

_project_root = Path(__file__).resolve().parent.parent.parent
# base.py requires DATABASE_URL; here it defaults to SQLite under var/ (base.py sets any
# SQLite database up for concurrent writers). .env is read first so that a DATABASE_URL in
# it still beats this default (base.py reads .env again; variables already set are kept).
if (_project_root / ".env").exists():
    environ.Env.read_env(_project_root / ".env")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_project_root / 'var' / 'db.sqlite3'}")

from config.queues import EXAMPLE_QUEUE_NAMES  # noqa: E402

from .base import *  # noqa: E402,F403
from .base import INSTALLED_APPS, JOBS_QUEUES, STORAGES, env  # noqa: E402

# The examples (each source system's usage on the platform, examples/) run locally and in
# the tests, never in production; the Procfile's worker-examples serves their queues.
INSTALLED_APPS = [*INSTALLED_APPS, "examples"]
if "JOBS_QUEUES" not in os.environ:
    JOBS_QUEUES = [*JOBS_QUEUES, *EXAMPLE_QUEUE_NAMES]


def local_secret_key(path: Path) -> str:
    """This install's random key, created on first use (readable by its owner only).

    web, worker and beat may start at once: the key is written to a temporary file and
    linked into place, so exactly one of them creates it and every one reads the same."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as out:  # mkstemp: mode 0600
            out.write(secrets.token_urlsafe(64) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(scratch, path)
    finally:
        os.unlink(scratch)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="") or local_secret_key(
    _project_root / "var" / "secret_key"
)

# Local runs serve static files straight from the apps, so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STORAGES = {
        **STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# Links in emails lead to the local web server, and the admin's Flower links to the local
# Flower, on the ports scripts/run-local.sh started them on (WEB_PORT from PORT, FLOWER_PORT;
# 8000 and 5555 by default); an explicit WAITLIST_PUBLIC_BASE_URL / FLOWER_URL wins.
WEB_PORT = env.int("WEB_PORT", default=8000)
WAITLIST_PUBLIC_BASE_URL = env.str(
    "WAITLIST_PUBLIC_BASE_URL", default=f"http://127.0.0.1:{WEB_PORT}"
)
FLOWER_URL = env.str(
    "FLOWER_URL", default=f"http://127.0.0.1:{env.int('FLOWER_PORT', default=5555)}"
)
# The credentials scripts/run-local.sh gives Flower.
FLOWER_USER = env.str("FLOWER_USER", default="admin")
FLOWER_PASSWORD = env.str("FLOWER_PASSWORD", default="admin")
