"""/ws/tickets/: authenticated users only, each on a group of their own; the token comes
in the subprotocol header or a first message (never the URL), and access is checked again
while the socket is open."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers

from config.asgi import application
from tests.support.auth import access_token
from tests.support.websocket import ORIGIN, WebsocketCommunicator
from tickets.consumers import TicketsConsumer
from tickets.notifications import users_notify

# transaction=True: the socket checks access again from its own database calls, which
# close the connection of a test wrapped in a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def socket(token: str | None = None, path: str = "/ws/tickets/") -> WebsocketCommunicator:
    # The token rides in the Sec-WebSocket-Protocol header, never in the URL.
    subprotocols = ["bearer", token] if token is not None else None
    return WebsocketCommunicator(application, path, headers=ORIGIN, subprotocols=subprotocols)


async def closed_with(communicator, *, timeout: float = 5) -> int | None:
    """The close code the socket ends with (messages before it are skipped)."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output.get("code")


def test_anonymous_bad_and_url_tokens_are_accepted_then_closed_with_4401(user, monkeypatch):
    monkeypatch.setattr(TicketsConsumer, "auth_timeout", 0.3)  # anonymous: no first message
    token = access_token(user)

    async def scenario():
        outcomes = []
        for communicator, first in (
            (socket(), None),
            (socket("not-a-jwt"), None),
            (socket(path=f"/ws/tickets/?token={token}"), None),
            (socket(), {"action": "authenticate", "token": "not-a-jwt"}),
            (socket(), {"type": "ping"}),
        ):
            connected, _ = await communicator.connect(timeout=5)
            if first is not None:
                await communicator.send_json_to(first)
            outcomes.append((connected, await closed_with(communicator)))
            await communicator.disconnect()
        return outcomes

    assert async_to_sync(scenario)() == [(True, 4401)] * 5


def test_a_token_in_the_first_message_authenticates(user):
    token = access_token(user)

    async def scenario():
        communicator = socket()
        assert (await communicator.connect(timeout=5))[0]
        await communicator.send_json_to({"action": "authenticate", "token": token})
        hello = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return hello

    assert async_to_sync(scenario)() == {"type": "connected", "user_id": user.pk}


def test_a_deactivated_user_loses_the_socket_with_4403(user, monkeypatch):
    monkeypatch.setattr(TicketsConsumer, "recheck_seconds", 0.2)
    token = access_token(user)

    async def scenario():
        communicator = socket(token)
        assert (await communicator.connect(timeout=5))[0]
        await communicator.receive_json_from(timeout=5)
        user.is_active = False
        await sync_to_async(user.save)(update_fields=["is_active"])
        code = await closed_with(communicator)
        await communicator.disconnect()
        return code

    assert async_to_sync(scenario)() == 4403


def test_a_notification_reaches_its_user_and_nobody_else(user, other_user):
    my_token, their_token = access_token(user), access_token(other_user)

    async def scenario():
        mine, theirs = socket(my_token), socket(their_token)
        assert (await mine.connect(timeout=5))[0] and (await theirs.connect(timeout=5))[0]
        hello = await mine.receive_json_from(timeout=5)
        await theirs.receive_json_from(timeout=5)
        await sync_to_async(users_notify)(messages=[(user.pk, {"type": "test", "n": 1})])
        message = await mine.receive_json_from(timeout=5)
        nothing = await theirs.receive_nothing(timeout=0.3)
        await mine.send_json_to({"type": "ping"})
        pong = await mine.receive_json_from(timeout=5)
        await mine.disconnect()
        await theirs.disconnect()
        return hello, message, nothing, pong

    hello, message, nothing, pong = async_to_sync(scenario)()

    assert hello == {"type": "connected", "user_id": user.pk}
    assert message == {"type": "test", "n": 1}
    assert nothing is True
    assert pong == {"type": "pong"}


def test_a_dead_channel_layer_does_not_fail_the_caller(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    channel_layers.backends.clear()
    try:
        assert users_notify(messages=[(1, {"type": "x"})]) == 0
    finally:
        channel_layers.backends.clear()


@pytest.mark.slow
def test_an_idle_socket_still_receives_its_notification(user):
    """Locks expire minutes after the page opened its socket: a quiet socket must live on.

    (redis-py 8 reads with a 5 s socket timeout by default, the same 5 s channels_redis
    blocks for in BZPOPMIN; without a longer timeout the consumer died after 5 idle s.)
    """
    token = access_token(user)

    async def scenario():
        communicator = socket(token)
        assert (await communicator.connect(timeout=5))[0]
        await communicator.receive_json_from(timeout=5)
        await asyncio.sleep(6.5)
        await sync_to_async(users_notify)(messages=[(user.pk, {"type": "late"})])
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    assert async_to_sync(scenario)() == {"type": "late"}
