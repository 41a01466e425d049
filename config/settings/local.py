"""Settings for a developer's machine: ``make run``, ``manage.py``, ``celery -A config``.

No environment is needed: SQLite in WAL mode under ``var/``, Redis on localhost, DEBUG on,
static files served straight from the apps, emails on the console. Every value can still
be set by its environment variable (or in ``.env``).
"""

import os
from pathlib import Path

import environ

_project_root = Path(__file__).resolve().parent.parent.parent
# base.py requires DATABASE_URL; here it defaults to SQLite under var/ (base.py sets any
# SQLite database up for concurrent writers). .env is read first so that a DATABASE_URL in
# it still beats this default (base.py reads .env again; variables already set are kept).
if (_project_root / ".env").exists():
    environ.Env.read_env(_project_root / ".env")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_project_root / 'var' / 'db.sqlite3'}")

from .base import *  # noqa: E402,F403
from .base import STORAGES, env  # noqa: E402

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="local-development-key-not-for-production")

# Local runs serve static files straight from the apps, so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STORAGES = {
        **STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# Links in emails lead to the local web server (scripts/run-local.sh's default port).
WAITLIST_PUBLIC_BASE_URL = env.str("WAITLIST_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# The credentials scripts/run-local.sh gives Flower.
FLOWER_USER = env.str("FLOWER_USER", default="admin")
FLOWER_PASSWORD = env.str("FLOWER_PASSWORD", default="admin")
