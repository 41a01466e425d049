"""``/ws/tickets/``: a signed-in user's live notifications (expired locks and reservations).

Authenticated users only, the way every socket of the platform takes its credentials
(``jobs.AuthenticatedJsonSocket``): the access token in the ``Sec-WebSocket-Protocol``
header (``new WebSocket(url, ["bearer", token])``) or in a first message
``{"action": "authenticate", "token": ...}``, or the session cookie; never ``?token=``.
Closed with 4401 without a user, 4403 once the user is deactivated, deleted, changed their
password or logged out (access is checked again every few seconds while it is open). Each
connection joins its user's group, so a user's notifications reach all of that user's tabs
and nobody else.
"""

from jobs import AuthenticatedJsonSocket, TellsWhenStreamIsUnavailable
from tickets.notifications import user_group


class TicketsConsumer(TellsWhenStreamIsUnavailable, AuthenticatedJsonSocket):
    group: str | None = None

    async def on_authenticated(self, user) -> None:
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "connected", "user_id": user.pk})

    async def on_disconnect(self) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def on_message(self, content) -> None:
        # The socket is one-way; a ping keeps proxies from closing an idle connection.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def tickets_notify(self, message: dict) -> None:
        if await self.allowed_now():
            await self.send_json(message["payload"])
