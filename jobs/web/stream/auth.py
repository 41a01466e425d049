"""WebSocket authentication: who is on the other end of a socket, and are they still allowed.

A URL ends up in access logs, proxy logs and browser history, so ``/ws/jobs/`` takes its
JWT access token from elsewhere (browsers cannot set an ``Authorization`` header on a
WebSocket handshake):

- the ``Sec-WebSocket-Protocol`` header: offer the two subprotocols ``bearer`` and the
  token (``new WebSocket(url, ["bearer", token])``); the server answers with ``bearer``;
- or a first message ``{"action": "authenticate", "token": "<access token>"}``
  (``jobs.web.stream.authenticated``);
- or the Django session cookie, for pages served by Django.

A ``token`` in the query string is never read: every socket refuses it
(``jobs.web.stream.authenticated``).

``current_user`` answers again, later, for an open socket: the token is validated again
(expired, user deactivated or deleted, password changed) and the session is read afresh from
its store (logged out, password changed), so a consumer can close when access is gone.
"""

from importlib import import_module

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from jobs.web.auth import user_from_jwt

BEARER_SUBPROTOCOL = "bearer"
# A JWT access token is a few hundred characters; anything much longer is not one.
MAX_TOKEN_LENGTH = 4096


@database_sync_to_async
def user_for_token(raw) -> object:
    """The user of a JWT access token, or AnonymousUser for anything that does not
    authenticate (malformed, expired, a deleted or inactive user, a changed password)."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_TOKEN_LENGTH:
        return AnonymousUser()
    try:
        user = user_from_jwt(raw)
    except Exception:  # whatever a broken token raises: treated like no user at all
        user = None
    return user if user is not None else AnonymousUser()


def token_from_subprotocols(subprotocols) -> str | None:
    """The token of ``Sec-WebSocket-Protocol: bearer, <token>``, else None."""
    offered = [str(p) for p in subprotocols or []]
    if BEARER_SUBPROTOCOL not in offered:
        return None
    others = [p for p in offered if p != BEARER_SUBPROTOCOL]
    return others[0] if len(others) == 1 else None


async def current_user(scope, token: str | None):
    """Who this socket's credentials name *now*: the token validated again, or the session
    read again from its store (not the copy loaded at the handshake)."""
    if token is not None:
        return await user_for_token(token)
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if not key:
        return AnonymousUser()
    fresh = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    return await get_user({"session": fresh})


class JWTAuthMiddleware(BaseMiddleware):
    """Puts the user of a JWT offered in the subprotocol header on the scope."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        token = token_from_subprotocols(scope.get("subprotocols"))
        if token is not None:
            scope["user"] = await user_for_token(token)
            scope["jwt"] = token
            scope["auth_source"] = "subprotocol"
        return await super().__call__(scope, receive, send)
