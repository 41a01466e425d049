"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Without DJANGO_SETTINGS_MODULE the production settings are used (they refuse to start
without a real SECRET_KEY); ``make run`` names ``config.settings.local`` itself.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
# A web process serves requests on many threads: its database connections come from one
# bounded pool (DB_POOL_MAX_SIZE, config/settings/base.py). DB_POOL=0 turns it off.
os.environ.setdefault("DB_POOL", "1")
django_asgi_app = get_asgi_application()

from config.telemetry import init_tracing_from_settings  # noqa: E402

init_tracing_from_settings()  # OpenTelemetry, when configured

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from jobs.web.stream.auth import JWTAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(JWTAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
