"""WebSocket authentication: a JWT access token in the ``token`` query parameter.

Browsers cannot set headers on a WebSocket handshake, so the token rides in the URL; the
session cookie (AuthMiddlewareStack) works too for pages served by Django.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware


@database_sync_to_async
def _user_for_token(raw: str):
    from django.contrib.auth.models import AnonymousUser
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

    auth = JWTAuthentication()
    try:
        return auth.get_user(auth.get_validated_token(raw))
    except (InvalidToken, TokenError, Exception):
        return AnonymousUser()


class JWTAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        token = parse_qs(scope.get("query_string", b"").decode()).get("token")
        if token:
            scope["user"] = await _user_for_token(token[0])
        return await super().__call__(scope, receive, send)
