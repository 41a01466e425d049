"""A WebSocket whose stream needs Redis says so when Redis is down, instead of dropping.

The channel layer (groups, the socket's own channel) lives in Redis. When a Redis call fails,
Channels lets the exception end the connection, which a client sees as a bare 1006/1011. A
consumer with ``TellsWhenStreamIsUnavailable`` first in its bases instead sends
``{"type": "error", "code": "stream_unavailable", ...}`` and closes with 1013 (try again
later), so the client knows to reconnect later rather than that it did something wrong.
"""

import json
import logging
from contextlib import suppress

from jobs.cache import REDIS_DOWN

log = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = 1013
UNAVAILABLE = {
    "type": "error",
    "code": "stream_unavailable",
    "detail": "the live stream is unavailable (Redis is unreachable); reconnect later",
}


class TellsWhenStreamIsUnavailable:
    async def __call__(self, scope, receive, send):
        accepted = False

        async def noting_accept(message):
            nonlocal accepted
            if message["type"] == "websocket.accept":
                accepted = True
            await send(message)

        try:
            await super().__call__(scope, receive, noting_accept)  # type: ignore[misc]
        except REDIS_DOWN as exc:
            log.warning("%s: stream unavailable, Redis is unreachable: %s", scope["path"], exc)
            with suppress(Exception):  # the client may be gone already
                if not accepted:
                    await send({"type": "websocket.accept"})
                await send({"type": "websocket.send", "text": json.dumps(UNAVAILABLE)})
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
