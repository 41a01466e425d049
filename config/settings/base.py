"""Settings shared by every environment. Every value comes from the environment.

The defaults here are safe in production. What only makes sense on one kind of machine
comes from that environment's module: ``local.py`` (``make run``, ``manage.py``: SQLite in
WAL mode under ``var/``, DEBUG, static files from the apps, a development key),
``test.py`` (the suite: PostgreSQL, a Redis database of its own) and ``production.py``
(refuses to start without a real key, hosts and https address; passes ``manage.py check
--deploy``). A malformed value stops the start with ``ImproperlyConfigured`` naming it.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.queues import QUEUE_NAMES as declared_queue_names
from config.settings.redis import redis_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"


class StrictEnv(environ.Env):
    """django-environ, except that a malformed value stops the start with ImproperlyConfigured
    naming its variable: plain django-environ raises a bare ValueError for ``JOBS_X=abc``,
    reads ``DATABASE_URL=oops`` as no database at all and ``DEBUG=ture`` as False."""

    BOOLEAN_FALSE_STRINGS = ("false", "off", "n", "no", "0", "")

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        raw = self.ENVIRON.get(var)
        if cast is bool and raw is not None:
            word = raw.strip().lower()
            if word not in (*self.BOOLEAN_TRUE_STRINGS, *self.BOOLEAN_FALSE_STRINGS):
                raise ImproperlyConfigured(f"{var} must be true or false, not {raw!r}")
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"{var}={raw!r} is not a valid value: {exc}") from exc

    def db_url(self, var=environ.Env.DEFAULT_DATABASE_ENV, default=environ.Env.NOTSET, engine=None):
        try:
            config = super().db_url(var, default=default, engine=engine)
        except (KeyError, TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"{var} is not a database URL: {exc}") from exc
        if not config.get("ENGINE"):
            raise ImproperlyConfigured(f"{var} is not a database URL (scheme://user@host/name)")
        return config

    db = db_url


env = StrictEnv()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# --- core ---------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# No default: Django refuses to sign anything with an empty key. local.py brings a random
# key kept under var/ (one per install), test.py a test key; production.py demands a real one.
SECRET_KEY = env.str("SECRET_KEY", default="")
# The debug page and the admins' error emails mask URL passwords (REDIS_URL, the broker, the
# cache LOCATION, ...) besides Django's *KEY*/*PASS* settings (config/secret_masking.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.secret_masking.SecretsReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "config.secret_masking.SecretsExceptionReporter"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "django_celery_results",
    "jobs",
    "waitlist",
    "tickets",
]

MIDDLEWARE = [
    # First: a request that failed on the database answers 503 JSON (jobs.web.outages).
    "jobs.web.outages.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "jobs.web.url_forms.ApiPathFormsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused by the lockout into its answer (jobs.web.lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------
# No default here: a production process without DATABASE_URL must not start on a private
# SQLite file. local.py defaults to SQLite in var/, test.py to the local PostgreSQL.
# SQLite (the embedded, local default) runs in WAL mode with IMMEDIATE transactions, so
# concurrent writers (web, worker, beat) queue on the write lock instead of failing with
# "database is locked" half-way through a transaction. PostgreSQL is the production and
# test database.
DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # Django's backend, failing fast for a moment after a failed connect (an outage then
    # costs a request one timeout, not one per query): config/postgresql/base.py.
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # Connections are bounded per process. A web process (config/asgi.py and wsgi.py turn
    # DB_POOL on) serves each request on its own thread, so it shares a pool of at most
    # DB_POOL_MAX_SIZE connections; a request that finds them all busy waits up to
    # DB_POOL_TIMEOUT seconds and then answers 503 (jobs/web/outages.py). Worker, beat and
    # management processes run one thing at a time and keep one persistent connection each
    # (a worker drops the pool at start even with DB_POOL=1: jobs/runtime/signals.py).
    # PostgreSQL needs max_connections >= web processes x DB_POOL_MAX_SIZE + worker
    # processes (pool processes, or threads with -P threads, plus one per worker) + beat
    # + a few for administration; see README, "Database connections".
    if env.bool("DB_POOL", default=False):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
            "timeout": env.float("DB_POOL_TIMEOUT", default=5.0),
        }
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    # The ledger's per-job statements are prepared once per connection (jobs/prepared.py);
    # ORM queries are unaffected. Off behind a pooler that cannot keep prepared statements.
    if env.bool("JOBS_DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache, channel layer ----------------------------------------------------
# REDIS_URL, or (when it is not set) REDIS_HOST, REDIS_PORT, REDIS_PASSWORD and REDIS_DB.
REDIS_URL = redis_url(env.ENVIRON)

# Throttle counters and cached answers; while Redis is down each process falls back to its
# own memory (jobs/cache.py) instead of failing requests. Short socket timeouts: an
# unreachable Redis costs a request at most that long, once per outage check.
CACHES = {
    "default": {
        "BACKEND": "jobs.cache.FallbackRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
    }
}
# redis-py 8 reads with a 5 s socket timeout by default: the very 5 s channels_redis blocks
# for in BZPOPMIN, so every WebSocket consumer would die after ~5 idle seconds. Reads may
# wait up to 30 s.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "prefix": "channels"},
    }
}

# --- auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Static files are collected into STATIC_ROOT (at image build time) and served by WhiteNoise
# under hashed names; local.py serves them straight from the apps instead.
WHITENOISE_USE_FINDERS = False
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"

# --- email ----------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="jobs@localhost")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
ADMINS = [("Admin", email) for email in env.list("ADMIN_EMAILS", default=["admin@localhost"])]
MANAGERS = ADMINS

# --- clients behind reverse proxies ----------------------------------------------------------
# How many reverse proxies in front of the web process append the client's address to
# X-Forwarded-For. 0 (the default): the client is the TCP peer and the header is ignored,
# since anyone can send it. Every throttle, the login lockout and /metrics' allow-list read
# the client address one way (jobs/web/client_address.py), through DRF's NUM_PROXIES below.
# Leave it at 0 when uvicorn already resolves the client (--proxy-headers with
# FORWARDED_ALLOW_IPS naming the proxies, as in the Dockerfile).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more (the number of proxies)")

# --- login lockout (django-axes, jobs/web/lockout.py) ---------------------------------------
# Admin login, API login and /metrics' basic auth: after AXES_FAILURE_LIMIT failed logins of
# one username from one address, that pair is refused (even the right password) until
# AXES_COOLOFF_MINUTES have passed without a further failure.
AUTHENTICATION_BACKENDS = [
    "jobs.web.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "jobs.web.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "jobs.web.lockout.lockout_response"
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT must be 1 or more")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's JSON parser, with a nesting limit and no unstorable strings (jobs/web/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "jobs.web.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "jobs.web.errors.api_exception_handler",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        "public_link": env.str("API_THROTTLE_PUBLIC_LINK", default="30/minute"),
        # POST /api/auth/token/, per client address, on top of the per-username lockout.
        "login": env.str("API_THROTTLE_LOGIN", default="10/minute"),
    },
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    # A used refresh token is blacklisted: replaying it answers 401.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Tokens carry a digest of the password hash, checked on every use: a password change
    # revokes every token issued before it (jobs/web/auth.py).
    "CHECK_REVOKE_TOKEN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Durable Jobs API",
    "DESCRIPTION": "Job administration and the waitlist and ticketing products.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery ---------------------------------------------------------------------------------
# Read by config/celery.py through the CELERY_ namespace.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# django-celery-results' database backend, reading ledger jobs from their rows
# (AsyncResult(id) of a ledger job answers from the ledger, in Celery's states).
CELERY_RESULT_BACKEND = "jobs.runtime.result_backend:LedgerBackend"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "django-cache"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# A task's message is acknowledged only after it ran, and a message whose worker process
# died is put back instead of being acknowledged as failed.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Unprioritised messages land in the middle band, not in the top one (on Redis a lower
# number is served first, and 0 would outrank CRITICAL).
CELERY_TASK_DEFAULT_PRIORITY = 3
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_WORKER_SEND_TASK_EVENTS", default=True)
CELERY_TASK_SEND_SENT_EVENT = False
# When the broker connection drops, let running jobs finish: their outcome is written to the
# ledger, not to Redis, and the redelivered message finds the job finished. Celery's True
# (its default from 6.0) terminates them, which turns every Redis restart into a kill of
# each running job (at-least-once: a non-atomic job's effect may happen twice). With True
# the job is still requeued without spending an attempt (LedgerRequest.on_failure).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = env.bool(
    "CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS", default=False
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Soft shutdown: on SIGTERM (warm shutdown) the worker lets running tasks finish; if they do
# not finish within this many seconds it cancels them and their messages are requeued.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=30.0)
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
# Must exceed the longest hard time limit of any task, or Redis hands a still-running task's
# message to a second worker. config/celery.py refuses to start otherwise.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # One Redis list per priority 0..9, served lowest number first, so the platform's
    # priorities CRITICAL=1 .. BATCH=5 map onto Redis priorities one to one.
    "priority_steps": list(range(10)),
    "sep": ":",
    "queue_order_strategy": "priority",
}
CELERY_RESULT_EXPIRES = None  # results are trimmed by the jobs retention sweep instead
# django-celery-beat's DatabaseScheduler, extended with per-slot fire records.
CELERY_BEAT_SCHEDULER = "jobs.scheduling.scheduler:LedgerScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 5
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Flower ---------------------------------------------------------------------------------
# Flower reads its credentials from these environment variables itself (Procfile,
# docker-compose.yml); no well-known default here, local.py has admin / admin.
FLOWER_USER = env.str("FLOWER_USER", default="")
FLOWER_PASSWORD = env.str("FLOWER_PASSWORD", default="")
FLOWER_URL = env.str("FLOWER_URL", default="http://127.0.0.1:5555")

# --- the jobs platform ----------------------------------------------------------------------
# Types, defaults and meaning of every JOBS_* setting: jobs/conf.py, which alone should read
# them. Here: the values operators set through environment variables.
# Every app declares its queues once (config/queues.py); the environment may narrow them.
JOBS_QUEUES = env.list("JOBS_QUEUES", default=list(declared_queue_names))
JOBS_DISPATCH_INTERVAL = env.float("JOBS_DISPATCH_INTERVAL", default=0.2)
JOBS_HEARTBEAT_INTERVAL = env.float("JOBS_HEARTBEAT_INTERVAL", default=5.0)
JOBS_HEARTBEAT_TIMEOUT = env.float("JOBS_HEARTBEAT_TIMEOUT", default=20.0)
JOBS_REPUBLISH_AFTER = env.float("JOBS_REPUBLISH_AFTER", default=30.0)
JOBS_POISON_THRESHOLD = env.int("JOBS_POISON_THRESHOLD", default=3)
# A worker's ledger write (claim, finish) waits this long for an unreachable database
# before the message goes back to the broker.
JOBS_DATABASE_OUTAGE_WAIT = env.float("JOBS_DATABASE_OUTAGE_WAIT", default=300.0)
JOBS_DISPATCHER_IN_WORKER = env.bool("JOBS_DISPATCHER_IN_WORKER", default=True)
# Plain Celery tasks (@shared_task, @app.task) that are ledger tasks: task-name globs
# ("waitlist.*,reports.*") or __all__. Default: none; only @job_task tasks are.
JOBS_LEDGER_TASKS = env.list("JOBS_LEDGER_TASKS", default=[])
# A worker's main process drops the time-limit timers of finished jobs this often (seconds;
# 0: never, and they are then kept until their time limit would have passed).
JOBS_TIMER_COMPACT_INTERVAL = env.float("JOBS_TIMER_COMPACT_INTERVAL", default=15.0)
# Per-status retention of finished jobs (BullMQ's removeOnComplete {age, count}): age in
# seconds, count = newest jobs kept per queue. Applied by the jobs.apply_retention schedule.
JOBS_RETENTION = {
    "completed": {
        "age": env.int("JOBS_KEEP_COMPLETED_SECONDS", default=24 * 3600),
        "count": env.int("JOBS_KEEP_COMPLETED_COUNT", default=1000),
    },
    "failed": {"age": env.int("JOBS_KEEP_FAILED_SECONDS", default=7 * 24 * 3600)},
    "cancelled": {"age": env.int("JOBS_KEEP_CANCELLED_SECONDS", default=24 * 3600)},
}
JOBS_RESULTS_RETENTION = env.int("JOBS_RESULTS_RETENTION_SECONDS", default=7 * 24 * 3600)
# A scheduled fire that has not happened this long after its slot is reported as missed.
JOBS_SCHEDULE_MISS_GRACE = env.int("JOBS_SCHEDULE_MISS_GRACE_SECONDS", default=120)

# LOG_FORMAT=json: one JSON object per line (python-json-logger), every record's extra
# fields as keys, such as the job transition lines of jobs.transitions (job_id, task,
# queue, attempt, wait_ms, run_ms, outcome). Text stays the default for local runs.
LOG_FORMAT = env.str("LOG_FORMAT", default="text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    # Passwords inside URLs (a connection error quoting its URL) are masked in every line.
    "filters": {"mask_secrets": {"()": "config.secret_masking.MaskSecretsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["mask_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One line per job transition: on with JSON logs (what log pipelines read), off
        # in text mode unless LOG_TRANSITIONS=INFO (a worker's lines per job cost time).
        "jobs.transitions": {
            "level": env.str(
                "LOG_TRANSITIONS", default="INFO" if LOG_FORMAT == "json" else "WARNING"
            )
        },
    },
}


def check_visibility_timeout(hard_time_limits: list[float]) -> None:
    """Fail loudly when a task could outlive Redis' visibility timeout."""
    longest = max([CELERY_TASK_TIME_LIMIT, *hard_time_limits])
    if longest >= CELERY_BROKER_VISIBILITY_TIMEOUT:
        raise ImproperlyConfigured(
            f"CELERY_BROKER_VISIBILITY_TIMEOUT ({CELERY_BROKER_VISIBILITY_TIMEOUT}s) must be "
            f"larger than the longest hard time limit ({longest}s): otherwise Redis redelivers "
            "a running task's message to another worker."
        )


check_visibility_timeout([])

# --- error reporting and tracing (optional; config/telemetry.py) ---------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="") or None
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if not 0.0 <= SENTRY_TRACES_SAMPLE_RATE <= 1.0:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1")
# Tracing starts in each web, worker and beat process once Django is set up.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_TRACES = env.str("OTEL_TRACES", default="").lower()
if OTEL_TRACES not in ("", "console", "otlp"):
    raise ImproperlyConfigured(f"OTEL_TRACES must be console or otlp, not {OTEL_TRACES!r}")

if SENTRY_DSN:
    from config.telemetry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# --- tickets --------------------------------------------------------------------------------
# TICKETS_* (seat lock and reservation lifetimes, sweep batches, ticket generation retries)
# are read from the environment by tickets/conf.py, which holds their defaults.

# --- waitlist -------------------------------------------------------------------------------
# Notifications and audit logs older than this are removed by the daily waitlist.cleanup job.
WAITLIST_RETENTION_DAYS = env.int("WAITLIST_RETENTION_DAYS", default=30)
if WAITLIST_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("WAITLIST_RETENTION_DAYS must be a whole number of at least 1")
# Emails are sent by workers, which have no request to build absolute links from. No default
# here: local.py and test.py link to 127.0.0.1:8000, production.py demands https://.
WAITLIST_PUBLIC_BASE_URL = env.str("WAITLIST_PUBLIC_BASE_URL", default="")
# Dotted path of the email backend for waitlist notifications; empty = EMAIL_BACKEND.
WAITLIST_EMAIL_BACKEND = env.str("WAITLIST_EMAIL_BACKEND", default="") or None

# --- operations -----------------------------------------------------------------------------
# Admin REST API (/api/jobs/): its own throttle scope on top of the anon/user rates.
JOBS_API_THROTTLE_RATE = env.str("JOBS_API_THROTTLE_RATE", default="600/minute")
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].setdefault("jobs_admin", JOBS_API_THROTTLE_RATE)
# Prometheus /metrics: these client addresses (or networks) need no credentials; anyone
# else needs a staff account (basic auth, JWT or session).
JOBS_METRICS_ALLOWED_IPS = env.list("JOBS_METRICS_ALLOWED_IPS", default=["127.0.0.1"])
# Alert rules, evaluated every minute by the jobs.alerts schedule.
JOBS_ALERT_FAILURE_RATE = env.float("JOBS_ALERT_FAILURE_RATE", default=10.0)  # percent
JOBS_ALERT_MIN_SAMPLE = env.int("JOBS_ALERT_MIN_SAMPLE", default=20)
JOBS_ALERT_WAITING_THRESHOLD = env.int("JOBS_ALERT_WAITING_THRESHOLD", default=1000)
JOBS_ALERT_SLOW_FACTOR = env.float("JOBS_ALERT_SLOW_FACTOR", default=2.0)
JOBS_ALERT_WORKER_DOWN_WINDOW = env.int("JOBS_ALERT_WORKER_DOWN_WINDOW_SECONDS", default=3600)
# Every other JOBS_* setting (sample sizes, caches, the WebSocket poll) takes its default
# from jobs/conf.py, which documents them all.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "JobStatusEnum": "jobs.ledger.models.JobStatus",
        "JobListStatusEnum": "jobs.ledger.selectors.LIST_STATUSES",
        "JobCleanStatusEnum": "jobs.web.api.serializers.CLEAN_STATUSES",
        "JobPriorityEnum": "jobs.web.api.serializers.PRIORITY_NAMES",
        # The apps' status/reason choice sets, each under one name of its own.
        "SlotStatusEnum": "waitlist.models.SlotStatus",
        "EntryStatusEnum": "waitlist.models.EntryStatus",
        "HoldStatusEnum": "waitlist.models.HoldStatus",
        "NotificationStatusEnum": "waitlist.models.NotificationStatus",
        "CascadeReasonEnum": "waitlist.models.CascadeReason",
        "SeatStatusEnum": "tickets.models.SeatStatus",
        "SeatLockStatusEnum": "tickets.models.SeatLockStatus",
        "BookingStatusEnum": "tickets.models.BookingStatus",
        "GenerationStatusEnum": "tickets.models.GenerationStatus",
    }
)
