"""``/ws/tickets/``: a signed-in user's live notifications (expired locks and reservations).

Authenticated users only (JWT in ``?token=`` or the session cookie); each connection joins
its user's group, so a user's notifications reach all of that user's tabs and nobody else.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from jobs import TellsWhenStreamIsUnavailable
from tickets.notifications import user_group

UNAUTHORIZED = 4401


class TicketsConsumer(TellsWhenStreamIsUnavailable, AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHORIZED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "connected", "user_id": user.pk})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # The socket is one-way; a ping keeps proxies from closing an idle connection.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def tickets_notify(self, message: dict) -> None:
        await self.send_json(message["payload"])
