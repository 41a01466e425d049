"""Settings for the test suite: PostgreSQL and a Redis database of its own."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/durable_jobs")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from config.queues import EXAMPLE_QUEUE_NAMES  # noqa: E402

from .base import *  # noqa: E402,F403
from .base import DATABASES, INSTALLED_APPS, JOBS_QUEUES, REST_FRAMEWORK, env  # noqa: E402

DEBUG = False
# The development key of local.py (production.py refuses it).
SECRET_KEY = env.str("SECRET_KEY", default="local-development-key-not-for-production")
# Waitlist email links point at the local web server, as in local.py.
WAITLIST_PUBLIC_BASE_URL = env.str("WAITLIST_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Worker processes started by the tests write mail to files the tests read (EMAIL_URL);
# the test process itself keeps mail in memory (pytest-django's mailoutbox).
if "EMAIL_URL" not in os.environ:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The examples (each source system's usage on the platform) are tested, never deployed: the
# app and its queues exist where it is installed (here and in local.py), not in production.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp", "examples"]
if "JOBS_QUEUES" not in os.environ:
    JOBS_QUEUES = [*JOBS_QUEUES, *EXAMPLE_QUEUE_NAMES]
# Plain @shared_task tasks written the Celery way; this setting makes them ledger tasks
# (jobs/runtime/default_task.py), except the one that says ledger=False.
CELERY_IMPORTS = ["tests.testapp.plain_tasks"]
JOBS_LEDGER_TASKS = ["tests.testapp.plain_tasks.*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Tests serve static files from the apps (finders); nothing is collected, so WhiteNoise
# has no STATIC_ROOT to scan (and would warn on every request that it is missing).
STATIC_ROOT = None
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Worker processes started by the tests connect to the test database by this name.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_durable_jobs")}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "anon": "10000/minute",
        "user": "100000/minute",
        "public_link": "10000/minute",
        "jobs_admin": "100000/minute",
    },
}
