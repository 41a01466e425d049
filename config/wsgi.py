"""WSGI entry point, for servers that do not speak ASGI (no WebSockets there).

Without DJANGO_SETTINGS_MODULE the production settings are used (they refuse to start
without a real SECRET_KEY).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# A web process serves requests on many threads: its database connections come from one
# bounded pool (DB_POOL_MAX_SIZE, config/settings/base.py). DB_POOL=0 turns it off.
os.environ.setdefault("DB_POOL", "1")
application = get_wsgi_application()
