"""WebSocket authentication: a JWT access token in the ``token`` query parameter.

Browsers cannot set headers on a WebSocket handshake, so the token rides in the URL; the
session cookie (AuthMiddlewareStack) works too for pages served by Django.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from jobs.web.auth import user_from_jwt


@database_sync_to_async
def _user_for_token(raw: str):
    try:
        user = user_from_jwt(raw)
    except Exception:  # a deleted or inactive user: treated like no user at all
        user = None
    return user if user is not None else AnonymousUser()


class JWTAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        token = parse_qs(scope.get("query_string", b"").decode()).get("token")
        if token:
            scope["user"] = await _user_for_token(token[0])
        return await super().__call__(scope, receive, send)
