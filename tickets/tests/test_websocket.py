"""/ws/tickets/: authenticated users only, each on a group of their own."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers

from config.asgi import application
from tests.support.auth import access_token
from tests.support.websocket import ORIGIN, WebsocketCommunicator
from tickets.notifications import users_notify

pytestmark = pytest.mark.django_db


def socket(token: str | None = None) -> WebsocketCommunicator:
    path = "/ws/tickets/" + (f"?token={token}" if token else "")
    return WebsocketCommunicator(application, path, headers=ORIGIN)


def test_anonymous_and_bad_tokens_are_turned_away():
    async def scenario():
        outcomes = []
        for communicator in (socket(), socket("not-a-jwt")):
            connected, code = await communicator.connect(timeout=5)
            outcomes.append((connected, code))
            await communicator.disconnect()
        return outcomes

    assert async_to_sync(scenario)() == [(False, 4401), (False, 4401)]


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
