"""What a real WebSocket client receives from the real web command (uvicorn serving
config.asgi): the documented close codes (4401 no or bad credentials, 4403 not allowed),
never a bare HTTP 403 handshake rejection, on both sockets of the project."""

import json

import pytest
from django.contrib.auth import get_user_model
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.auth import access_token

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ORIGIN = "http://127.0.0.1"


@pytest.fixture
def tokens():
    users = get_user_model().objects
    customer = users.create_user("customer", "c@example.com", "customer-pass")
    staff = users.create_user("ops", "ops@example.com", "ops-pass", is_staff=True)
    return {"customer": access_token(customer), "staff": access_token(staff)}


def received(web_command, path: str, *, bearer: str | None = None, first: dict | None = None):
    """The messages the client received and the close code it saw."""
    url = web_command.url(path).replace("http://", "ws://")
    subprotocols = ["bearer", bearer] if bearer is not None else None
    messages = []
    with connect(url, origin=ORIGIN, subprotocols=subprotocols, open_timeout=10) as socket:
        if first is not None:
            socket.send(json.dumps(first))
        try:
            while True:
                messages.append(json.loads(socket.recv(timeout=15)))
                if messages[-1].get("type") == "connected":
                    return messages, None
        except ConnectionClosed as closed:
            return messages, closed.rcvd.code if closed.rcvd else None


@pytest.mark.parametrize("path", ["/ws/jobs/", "/ws/tickets/"])
def test_a_real_client_sees_4401_without_valid_credentials(web_command, tokens, path):
    in_url = received(web_command, f"{path}?token={tokens['staff']}")
    bad_header = received(web_command, path, bearer="not-a-jwt")
    bad_message = received(
        web_command, path, first={"action": "authenticate", "token": "not-a-jwt"}
    )
    other_first = received(web_command, path, first={"type": "ping"})

    assert [code for _, code in (in_url, bad_header, bad_message, other_first)] == [4401] * 4
    assert any("not accepted in the URL" in m.get("detail", "") for m in in_url[0])


def test_a_real_client_sees_4403_on_the_staff_stream_as_a_customer(web_command, tokens):
    assert received(web_command, "/ws/jobs/", bearer=tokens["customer"])[1] == 4403


def test_the_tickets_socket_takes_the_token_in_the_header_or_the_first_message(web_command, tokens):
    by_header, code = received(web_command, "/ws/tickets/", bearer=tokens["customer"])
    by_message, _ = received(
        web_command, "/ws/tickets/", first={"action": "authenticate", "token": tokens["customer"]}
    )

    assert code is None
    assert by_header[-1]["type"] == by_message[-1]["type"] == "connected"
