"""A JSON WebSocket for signed-in users that checks who is there, and keeps checking.

Both sockets of the project (``/ws/jobs/`` for staff, the tickets app's ``/ws/tickets/``)
take their credentials the same way, never in the URL (``jobs.web.stream.auth``):

- ``Sec-WebSocket-Protocol: bearer, <access token>`` (browsers:
  ``new WebSocket(url, ["bearer", token])``); the server selects ``bearer``;
- or, right after connecting, ``{"action": "authenticate", "token": "<access token>"}``
  within ``auth_timeout`` seconds (10);
- or the Django session cookie.

The socket is accepted first and closed afterwards with the documented code: a handshake
refused before ``accept()`` reaches a client as a bare HTTP 403, never as 4401 or 4403.

- a token in the query string (``?token=``; URLs are written to access logs), no user, a
  token that does not authenticate, or any other first message: close code 4401;
- a user the socket does not serve (not active; not staff where ``staff_only``): 4403.

Access is checked again while the socket is open: every ``recheck_seconds`` (5), and before a
message is handled or sent when the last check is older than that, the token is validated
again (or the session read again). When the user is deactivated or deleted, changed their
password, logged out or (``staff_only``) is no longer staff, the socket is closed with 4403;
when the access token expires, with 4401 (send ``{"action": "authenticate", "token": <fresh
token>}`` before it does to keep the socket).

A subclass says what the socket does once the user is known (``on_authenticated``), with
each later client message (``on_message``) and when it ends (``on_disconnect``).
"""

import asyncio
import contextlib
import json
import logging
import time
from urllib.parse import parse_qs

import jwt
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from jobs.web.stream.auth import BEARER_SUBPROTOCOL, current_user, user_for_token

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_INTERNAL_ERROR = 1011


def _token_expiry(raw: str) -> float | None:
    """The ``exp`` of a token ``user_for_token`` has already verified (signature included)."""
    with contextlib.suppress(Exception):
        exp = jwt.decode(raw.strip(), options={"verify_signature": False}).get("exp")
        return float(exp) if exp is not None else None
    return None


class AuthenticatedJsonSocket(AsyncJsonWebsocketConsumer):
    staff_only = False  # True: only active staff users (4403 for anyone else)
    # Seconds a client has to send its authenticate message.
    auth_timeout = 10.0
    # Seconds an access decision is trusted: the socket re-checks at least this often, and
    # before handling or sending when its last check is older.
    recheck_seconds = 5.0

    user_id = None  # set once authenticated; None again when access is lost
    token: str | None = None
    token_expires: float | None = None
    checked_at = 0.0
    closing = False
    _tasks: list[asyncio.Task] = []  # this socket's own timers; a fresh list in connect()

    # --- what a subclass does ----------------------------------------------------------------
    async def on_authenticated(self, user) -> None:
        """The user is known and allowed: start serving them."""

    async def on_message(self, content) -> None:
        """A client message (any JSON, or None for text that is not JSON) from an
        authenticated user whose access was just confirmed; ``authenticate`` is handled
        here already."""

    async def on_disconnect(self) -> None:
        """The socket ended, for whatever reason: leave groups, stop timers of your own."""

    # --- the handshake ------------------------------------------------------------------------
    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        via_header = self.scope.get("auth_source") == "subprotocol"
        # Accept first, so the client sees the application's close code (a handshake
        # refused before accept reaches a client as a bare HTTP 403).
        await self.accept(subprotocol=BEARER_SUBPROTOCOL if BEARER_SUBPROTOCOL in offered else None)
        self._tasks = []
        if "token" in parse_qs(self.scope.get("query_string", b"").decode()):
            await self.send_error(
                "token: not accepted in the URL (URLs end up in access logs); send "
                '{"action": "authenticate", "token": ...} or offer the subprotocols '
                '"bearer" and the token'
            )
            await self.deny(CLOSE_UNAUTHENTICATED)
            return
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self.start(user, token=self.scope.get("jwt") if via_header else None)
        elif via_header:
            await self.deny(CLOSE_UNAUTHENTICATED)  # a token that does not authenticate
        else:
            self._tasks.append(asyncio.create_task(self._require_authentication()))

    def may_use(self, user) -> bool:
        return bool(user.is_active and (user.is_staff or not self.staff_only))

    async def start(self, user, token: str | None) -> None:
        """A user is known: one the socket serves gets it, anyone else is closed with 4403."""
        if self.closing:  # e.g. an authenticate message that came after the timeout
            return
        if not self.may_use(user):
            await self.deny(CLOSE_FORBIDDEN)
            return
        self.user_id = user.pk
        self.token = token
        self.token_expires = _token_expiry(token) if token else None
        self.checked_at = time.monotonic()
        self._tasks.append(asyncio.create_task(self._recheck_periodically()))
        await self.on_authenticated(user)

    async def deny(self, code: int) -> None:
        self.user_id = None
        if not self.closing:
            self.closing = True
            await self.close(code=code)

    async def disconnect(self, code):
        self.user_id = None
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        await self.on_disconnect()

    # --- access, checked again while the socket is open -------------------------------------
    async def _require_authentication(self) -> None:
        await asyncio.sleep(self.auth_timeout)
        if self.user_id is None:
            await self.deny(CLOSE_UNAUTHENTICATED)

    async def _recheck_periodically(self) -> None:
        while self.user_id is not None:
            await asyncio.sleep(self.recheck_seconds)
            await self.still_allowed()

    async def still_allowed(self, *, max_age: float = 0.0) -> bool:
        """Whether the user may still use the socket; closes it when not.
        ``max_age``: a decision younger than this many seconds is trusted as is."""
        if self.user_id is None:
            return False
        now = time.monotonic()
        if max_age and now - self.checked_at < max_age:
            return True
        if self.token_expires is not None and time.time() >= self.token_expires:
            await self.deny(CLOSE_UNAUTHENTICATED)
            return False
        try:
            user = await current_user(self.scope, self.token)
        except Exception:
            # No answer (the database is down): fail closed; the client reconnects later.
            log.warning(
                "%s: could not check access again; closing", self.scope.get("path"), exc_info=True
            )
            await self.deny(CLOSE_INTERNAL_ERROR)
            return False
        allowed = (
            user is not None
            and user.is_authenticated
            and user.pk == self.user_id
            and self.may_use(user)
        )
        if not allowed:
            await self.deny(CLOSE_FORBIDDEN)
            return False
        self.checked_at = now
        return True

    async def allowed_now(self) -> bool:
        """``still_allowed``, trusting a decision younger than ``recheck_seconds``: call it
        before sending the user anything."""
        return await self.still_allowed(max_age=self.recheck_seconds)

    async def authenticate(self, token) -> None:
        user = await user_for_token(token)
        if self.user_id is None:
            if not user.is_authenticated:
                await self.deny(CLOSE_UNAUTHENTICATED)
            else:
                await self.start(user, token=token)
            return
        # A fresh token for the same user extends an open socket past the old one's expiry.
        if not user.is_authenticated or user.pk != self.user_id:
            await self.send_error("token: not a valid access token of this socket's user")
            return
        self.token, self.token_expires = token, _token_expiry(token)
        if await self.still_allowed():
            await self.send_json({"type": "authenticated"})

    # --- client messages -------------------------------------------------------------------
    @classmethod
    async def decode_json(cls, text_data):
        try:
            return json.loads(text_data)
        except (TypeError, ValueError):
            return None

    async def receive_json(self, content, **kwargs):
        action = content.get("action") if isinstance(content, dict) else None
        if action == "authenticate":
            await self.authenticate(content.get("token"))
            return
        if self.user_id is None:
            # Before authenticating, anything but the authenticate message ends the socket.
            await self.deny(CLOSE_UNAUTHENTICATED)
            return
        if not await self.still_allowed(max_age=self.recheck_seconds):
            return
        await self.on_message(content)

    async def send_error(self, detail: str) -> None:
        await self.send_json({"type": "error", "detail": detail})
