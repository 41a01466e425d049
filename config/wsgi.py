"""WSGI entry point, for servers that do not speak ASGI (no WebSockets there).

Without DJANGO_SETTINGS_MODULE the production settings are used (they refuse to start
without a real SECRET_KEY).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
