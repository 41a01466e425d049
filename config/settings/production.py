"""Production settings: secure defaults, no fallbacks for secrets.

base.py already defaults to production's choices (DEBUG off, collected static files, no
database, key or public address of its own); this module refuses to start without them and
adds the HTTPS settings ``manage.py check --deploy`` asks for.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEBUG, SECRET_KEY, WAITLIST_PUBLIC_BASE_URL, env

# This is also what an entry point (manage.py, ASGI, WSGI, celery) uses when no settings
# module is named: a process started without configuration stops here instead of running
# on a development key.
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith(
    ("local-", "django-insecure", "change-me", "test-", "benchmark-")
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production "
        '(python -c "import secrets; print(secrets.token_urlsafe(64))"). '
        "On a developer's machine use DJANGO_SETTINGS_MODULE=config.settings.local "
        "(make run does)."
    )
# The debug page shows settings and source to whoever triggers an error: only a local run
# (config.settings.local) may turn it on.
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (DEBUG=false)")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# Emails carry confirm/decline links built from this; a default of localhost would send
# customers dead links.
if not WAITLIST_PUBLIC_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured(
        "WAITLIST_PUBLIC_BASE_URL must be the public https:// address of this site in production"
    )
