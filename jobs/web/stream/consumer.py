"""WebSocket ``/ws/jobs/``: a live stream of job status changes, for staff.

Authentication (``jobs.web.stream.auth``), never in the URL:

- ``Sec-WebSocket-Protocol: bearer, <access token>`` (browsers:
  ``new WebSocket(url, ["bearer", token])``); the server selects ``bearer``;
- or, right after connecting, ``{"action": "authenticate", "token": "<access token>"}``
  within AUTH_TIMEOUT seconds;
- or the Django session cookie.

A token in the query string (``?token=``) is refused: the socket is closed with code 4401
(URLs are written to access logs). Without a user, or with anything else as the first
message, the socket is closed with 4401; for a non-staff user with 4403.

Access is checked again while the socket is open: every RECHECK_SECONDS, and before a
message is sent when the last check is older than that, the token is validated again (or
the session read again) and the user must still be active staff. When the user is no longer
staff, is deactivated or deleted, changed their password or logged out, the socket is
closed with 4403; when the access token expires, with 4401 (send
``{"action": "authenticate", "token": <fresh token>}`` before it does to keep the socket).

By default a client receives every job's changes. To follow one job, connect to
``/ws/jobs/<job_id>/`` (or ``?job_id=``) or send ``{"action": "subscribe", "job_id": ...}``;
``{"action": "unsubscribe", "job_id": ...}`` and ``{"action": "subscribe_all"}`` also work.
Subscribing to a job answers with its current state first (``"type": "snapshot"``), then
each change arrives as ``{"type": "job", "job": {...}}``.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from urllib.parse import parse_qs

import jwt
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from jobs.web.stream.auth import BEARER_SUBPROTOCOL, current_user, user_for_token
from jobs.web.stream.outage import TellsWhenStreamIsUnavailable
from jobs.web.stream.relay import ensure_relay, job_snapshots

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_INTERNAL_ERROR = 1011
# Seconds a client has to send its authenticate message.
AUTH_TIMEOUT = 10.0
# Seconds an access decision is trusted: the socket re-checks at least this often, and
# before sending when its last check is older.
RECHECK_SECONDS = 5.0


def _token_expiry(raw: str) -> float | None:
    """The ``exp`` of a token ``user_for_token`` has already verified (signature included)."""
    with contextlib.suppress(Exception):
        exp = jwt.decode(raw.strip(), options={"verify_signature": False}).get("exp")
        return float(exp) if exp is not None else None
    return None


class JobStreamConsumer(TellsWhenStreamIsUnavailable, AsyncJsonWebsocketConsumer):
    user_id = None  # set once authenticated as staff; None again when access is lost
    token: str | None = None
    token_expires: float | None = None
    checked_at = 0.0
    closing = False
    _tasks: list[asyncio.Task] = []  # this socket's own timers; a fresh list in connect()

    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        via_header = self.scope.get("auth_source") == "subprotocol"
        # Accept first, so the client sees the application's close code (a handshake
        # refused before accept reaches a browser as a bare HTTP 403).
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

    async def start(self, user, token: str | None) -> None:
        """A user is known: staff get the stream, anyone else is closed with 4403."""
        if self.closing:  # e.g. an authenticate message that came after the timeout
            return
        if not user.is_staff or not user.is_active:
            await self.deny(CLOSE_FORBIDDEN)
            return
        self.user_id = user.pk
        self.token = token
        self.token_expires = _token_expiry(token) if token else None
        self.checked_at = time.monotonic()
        self.relay = await ensure_relay()
        self.joined: set[str] = set()
        self.following: set[str] = set()
        self._tasks.append(asyncio.create_task(self._recheck_periodically()))
        job_id = self.scope.get("url_route", {}).get("kwargs", {}).get("job_id")
        if job_id is None:
            query = parse_qs(self.scope.get("query_string", b"").decode())
            job_id = (query.get("job_id") or [None])[0]
        if job_id:
            await self.subscribe(str(job_id))
        else:
            await self.subscribe_all()

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
        for group in list(getattr(self, "joined", set())):
            await self._leave(group)

    # --- access, checked again while the socket is open -------------------------------------
    async def _require_authentication(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT)
        if self.user_id is None:
            await self.deny(CLOSE_UNAUTHENTICATED)

    async def _recheck_periodically(self) -> None:
        while self.user_id is not None:
            await asyncio.sleep(RECHECK_SECONDS)
            await self.still_allowed()

    async def still_allowed(self, *, max_age: float = 0.0) -> bool:
        """Whether the user may still read the stream; closes the socket when not.
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
            log.warning("job stream: could not check access again; closing", exc_info=True)
            await self.deny(CLOSE_INTERNAL_ERROR)
            return False
        allowed = (
            user is not None
            and user.is_authenticated
            and user.pk == self.user_id
            and user.is_active
            and user.is_staff
        )
        if not allowed:
            await self.deny(CLOSE_FORBIDDEN)
            return False
        self.checked_at = now
        return True

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
        if not await self.still_allowed(max_age=RECHECK_SECONDS):
            return
        if not isinstance(content, dict):
            await self.send_error("message: send a JSON object with an action")
            return
        if action == "subscribe":
            await self.subscribe(content.get("job_id"))
        elif action == "unsubscribe":
            await self.unsubscribe(content.get("job_id"))
        elif action == "subscribe_all":
            await self.subscribe_all()
        else:
            await self.send_error(
                "action: use authenticate, subscribe, unsubscribe or subscribe_all"
            )

    async def send_error(self, detail: str) -> None:
        await self.send_json({"type": "error", "detail": detail})

    # The relay is told who listens, so it reads and sends only what someone follows.
    async def _join(self, group: str, job_id: str | None = None) -> None:
        if group not in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)
            if job_id is None:
                self.relay.listen_all(+1)
            else:
                self.relay.follow(job_id)
                self.following.add(job_id)

    async def _leave(self, group: str, job_id: str | None = None) -> None:
        if group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.joined.discard(group)
            if group == self.relay.all_group:
                self.relay.listen_all(-1)
            else:
                job_id = job_id or group.split(".")[1]
                self.relay.unfollow(job_id)
                self.following.discard(job_id)

    async def subscribe_all(self) -> None:
        for job_id in list(self.following):
            await self._leave(self.relay.job_group(job_id), job_id)
        await self._join(self.relay.all_group)
        await self.send_json({"type": "subscribed", "all": True, "jobs": []})

    async def subscribe(self, job_id) -> None:
        try:
            job_id = str(uuid.UUID(str(job_id)))
        except ValueError:
            await self.send_error("job_id: not a job id")
            return
        snapshot = (await database_sync_to_async(job_snapshots)([job_id])).get(job_id)
        if snapshot is None:
            await self.send_error(f"job_id: no job {job_id}")
            return
        # Following jobs replaces the everything-stream.
        await self._leave(self.relay.all_group)
        await self._join(self.relay.job_group(job_id), job_id)
        await self.send_json({"type": "subscribed", "all": False, "jobs": sorted(self.following)})
        await self.send_json({"type": "snapshot", "job": snapshot})

    async def unsubscribe(self, job_id) -> None:
        job_id = str(job_id)
        await self._leave(self.relay.job_group(job_id), job_id)
        await self.send_json({"type": "subscribed", "all": False, "jobs": sorted(self.following)})

    # --- from the relay --------------------------------------------------------------------
    async def job_update(self, message):
        if await self.still_allowed(max_age=RECHECK_SECONDS):
            await self.send_json({"type": "job", "job": message["job"]})
