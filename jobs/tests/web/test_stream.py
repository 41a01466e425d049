"""WebSocket /ws/jobs/: staff follow job status changes live, relayed from a real worker's
Celery events (and the ledger, for retries that send no event)."""

import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from config.asgi import application
from tests.support.auth import access_token
from tests.support.ledger_rows import make_job
from tests.support.websocket import WebsocketCommunicator

pytestmark = [pytest.mark.django_db(transaction=True)]
ORIGIN = [(b"origin", b"http://127.0.0.1")]


def communicator(path: str, token: str | None = None) -> WebsocketCommunicator:
    # The token rides in the Sec-WebSocket-Protocol header, never in the URL.
    subprotocols = ["bearer", token] if token is not None else None
    return WebsocketCommunicator(application, path, headers=ORIGIN, subprotocols=subprotocols)


async def receive_until(comm, predicate, timeout: float = 20.0) -> list[dict]:
    """Every message up to and including the first one ``predicate`` accepts."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching message within {timeout}s; got {seen}")
        try:
            message = await comm.receive_json_from(timeout=remaining)
        except TimeoutError:
            raise AssertionError(f"no matching message within {timeout}s; got {seen}") from None
        seen.append(message)
        if predicate(message):
            return seen


# --- auth ------------------------------------------------------------------------------------
@pytest.mark.security
def test_anonymous_and_non_staff_are_closed_with_4401_and_4403(plain_user, monkeypatch):
    from jobs.web.stream.consumer import JobStreamConsumer

    # anonymous: no authenticate message
    monkeypatch.setattr(JobStreamConsumer, "auth_timeout", 0.5)
    customer_token = access_token(plain_user)

    async def scenario():
        results = {}
        for label, comm in [
            ("anonymous", communicator("/ws/jobs/")),
            ("bad token", communicator("/ws/jobs/", "junk")),
            ("customer", communicator("/ws/jobs/", customer_token)),
        ]:
            connected, _ = await comm.connect(timeout=10)
            closed = await comm.receive_output(timeout=5)
            results[label] = (connected, closed["type"], closed.get("code"))
            await comm.disconnect()
        return results

    results = async_to_sync(scenario)()

    assert results == {
        "anonymous": (True, "websocket.close", 4401),
        "bad token": (True, "websocket.close", 4401),
        "customer": (True, "websocket.close", 4403),
    }


def test_subscribe_answers_with_the_job_and_rejects_bad_ids(staff_user):
    job = make_job(status="delayed")

    token = access_token(staff_user)

    async def scenario():
        comm = communicator("/ws/jobs/", token)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        hello = await comm.receive_json_from(timeout=10)
        await comm.send_json_to({"action": "subscribe", "job_id": str(job.id)})
        subscribed = await comm.receive_json_from(timeout=5)
        snapshot = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"action": "subscribe", "job_id": "nope"})
        bad = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"action": "subscribe", "job_id": "0190f0e0-0000-7000-8000-0000"})
        bad_uuid = await comm.receive_json_from(timeout=5)
        await comm.send_to(text_data="{not json")
        junk = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"action": "dance"})
        unknown = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"action": "unsubscribe", "job_id": str(job.id)})
        unsubscribed = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return hello, subscribed, snapshot, bad, bad_uuid, junk, unknown, unsubscribed

    hello, subscribed, snapshot, bad, bad_uuid, junk, unknown, unsubscribed = async_to_sync(
        scenario
    )()

    assert hello == {"type": "subscribed", "all": True, "jobs": []}
    assert subscribed == {"type": "subscribed", "all": False, "jobs": [str(job.id)]}
    assert snapshot["type"] == "snapshot"
    assert snapshot["job"]["job_id"] == str(job.id) and snapshot["job"]["status"] == "delayed"
    assert bad["type"] == "error" and bad["detail"].startswith("job_id")
    assert bad_uuid["type"] == "error"
    assert junk["type"] == "error" and unknown["type"] == "error"
    assert unsubscribed["jobs"] == []


# --- live updates from a real worker ----------------------------------------------------------
@pytest.mark.integration
def test_staff_follows_one_job_from_waiting_through_progress_to_completed(worker, staff_user):
    from tests.testapp.tasks import progress_then_sleep

    # Delayed by a second, so the subscription is in place before the job starts.
    result = progress_then_sleep.apply_async((0.5,), countdown=1)
    token = access_token(staff_user)

    async def scenario():
        comm = communicator(f"/ws/jobs/{result.id}/", token)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        messages = await receive_until(
            comm, lambda m: m.get("job", {}).get("status") == "completed", timeout=30
        )
        await comm.disconnect()
        return messages

    messages = async_to_sync(scenario)()

    assert messages[0]["type"] == "subscribed" and messages[1]["type"] == "snapshot"
    assert messages[1]["job"]["status"] == "delayed"
    updates = [m["job"] for m in messages[2:]]
    assert {u["job_id"] for u in updates} == {result.id}
    events = [(u["event"], u["status"], u["progress"]) for u in updates]
    assert ("task-started", "active", 0) in events or events[0][1] == "active"
    assert ("task-progress", "active", 50) in events
    assert events[-1][:2] == ("task-succeeded", "completed")
    assert updates[-1]["progress"] == 100 and updates[-1]["finished_at"]


@pytest.mark.integration
def test_stream_of_all_jobs_shows_a_retry_that_sends_no_celery_event(worker, staff_user, settings):
    from jobs.tasks import fail, noop

    # jobs.fail waits 0.5 s before its retry; the relay re-reads running jobs more often.
    settings.JOBS_WS_POLL_INTERVAL = 0.1

    token = access_token(staff_user)

    async def scenario():
        comm = communicator("/ws/jobs/", token)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        await comm.receive_json_from(timeout=10)  # subscribed to everything
        other = await database_sync_to_async(lambda: noop.delay())()
        flaky = await database_sync_to_async(lambda: fail.apply_async((1,), max_attempts=2))()
        messages = await receive_until(
            comm,
            lambda m: (
                m.get("job", {}).get("job_id") == flaky.id and m["job"]["status"] == "completed"
            ),
            timeout=30,
        )
        await comm.disconnect()
        return other.id, flaky.id, messages

    other_id, flaky_id, messages = async_to_sync(scenario)()

    jobs = [m["job"] for m in messages if m["type"] == "job"]
    assert any(j["job_id"] == other_id and j["status"] == "completed" for j in jobs)
    flaky = [(j["status"], j["attempts"]) for j in jobs if j["job_id"] == flaky_id]
    # active (attempt 1) -> delayed (the retry, seen in the ledger) -> active -> completed
    assert flaky[0] == ("active", 1) or flaky[0][0] == "active"
    assert ("delayed", 1) in flaky
    assert flaky[-1] == ("completed", 2)
    assert flaky.index(("delayed", 1)) < len(flaky) - 1
