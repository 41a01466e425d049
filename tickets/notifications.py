"""WebSocket notifications: one Channels group per user, joined by TicketsConsumer.

Notifications are best effort: the database already holds the outcome (a released seat, an
expired reservation), so a channel layer outage is logged and never undoes or fails a sweep.
"""

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

# The type the consumer dispatches on: TicketsConsumer.tickets_notify.
MESSAGE_TYPE = "tickets.notify"


def user_group(user_id: int) -> str:
    return f"tickets.user-{user_id}"


def users_notify(*, messages: Iterable[tuple[int, dict]]) -> int:
    """Send each (user_id, payload) to the user's group; returns how many were sent."""
    messages = list(messages)
    if not messages:
        return 0
    layer = get_channel_layer()
    if layer is None:
        return 0

    async def send_all() -> int:
        sent = 0
        for user_id, payload in messages:
            try:
                await layer.group_send(
                    user_group(user_id), {"type": MESSAGE_TYPE, "payload": payload}
                )
                sent += 1
            except Exception:  # a dead channel layer must not fail the sweep (see above)
                log.warning("could not notify user %s over WebSocket", user_id, exc_info=True)
        return sent

    try:
        return async_to_sync(send_all)()
    except Exception:
        log.warning("channel layer unavailable; %d notification(s) dropped", len(messages))
        return 0
