"""The ledger publisher writes kombu's Redis message format itself (one LPUSH per batch).
These tests pin that format to what kombu writes for the same task, so an upgrade of kombu
that changes it fails here instead of in production."""

import base64
import json

import pytest
from celery import current_app
from django.utils import timezone

from jobs.ledger import broker
from jobs.ledger.enqueue import JobSpec, job_build

pytestmark = pytest.mark.django_db


def _stored(key: str) -> list[dict]:
    return [json.loads(raw) for raw in broker.redis_client().lrange(key, 0, -1)]


def test_envelope_matches_what_kombu_publishes_for_the_same_task():
    job = job_build(
        JobSpec(task="jobs.noop", args=[1, "x"], kwargs={"a": [2]}, priority="HIGH"),
        now=timezone.now(),
    )
    broker.publish([job])
    ours = _stored("default:2")[0]
    broker.redis_client().delete("default:2")

    current_app.send_task(
        "jobs.noop",
        args=[1, "x"],
        kwargs={"a": [2]},
        task_id=str(job.id),
        exchange="",
        routing_key="default",
        priority=2,
        ignore_result=True,
        # The worker applies the task's own limits either way; compare the format only.
        time_limit=None,
        soft_time_limit=None,
    )
    theirs = _stored("default:2")[0]

    assert ours.keys() == theirs.keys()
    assert ours["body"] == theirs["body"]
    for field in ("content-type", "content-encoding"):
        assert ours[field] == theirs[field]
    assert ours["properties"].keys() == theirs["properties"].keys()
    for field in ("delivery_info", "priority", "body_encoding", "delivery_mode", "correlation_id"):
        assert ours["properties"][field] == theirs["properties"][field]
    # The ledger's own mark is the one header kombu does not write.
    assert ours["headers"][broker.LEDGER_HEADER] == 1
    assert {
        k: v for k, v in ours["headers"].items() if k not in ("origin", broker.LEDGER_HEADER)
    } == {k: v for k, v in theirs["headers"].items() if k != "origin"}


def test_a_batch_keeps_order_within_each_priority_list():
    now = timezone.now()
    jobs = [
        job_build(JobSpec(task="jobs.noop", args=[i], priority=1 + i % 2), now=now)
        for i in range(6)
    ]
    broker.publish(jobs)
    client = broker.redis_client()
    # Consumers pop from the right: the first published must be the first popped.
    popped = [json.loads(client.rpop("default:1"))["headers"]["id"] for _ in range(3)]
    assert popped == [str(j.id) for j in jobs if j.priority == 1]
    assert client.llen("default:2") == 3


@pytest.mark.parametrize(
    "spec",
    [
        JobSpec(task="jobs.noop"),
        JobSpec(task="jobs.noop", args=['a "quoted" 100% \\ value', "é ☃ \n"], kwargs={"%s": 1}),
        JobSpec(task="jobs.noop", args=[list(range(2000))], priority="CRITICAL"),
        JobSpec(task="jobs.noop", kwargs={"nested": {"a": [None, True, 1.5]}}, timeout=3),
        JobSpec(task="jobs.noop", queue="default", hard_time_limit=600, priority="LOW"),
    ],
    ids=["empty", "escapes", "long-args", "timeout", "hard-limit"],
)
def test_a_message_filled_into_its_template_is_the_message_built_whole(spec):
    """Messages are encoded once per (task, queue, priority, limits) and filled in per job;
    each must be exactly what building it whole gives, whatever its arguments hold."""
    now = timezone.now()
    for job in (job_build(spec, now=now), job_build(spec, now=now)):  # the second: cached
        ours = json.loads(broker._envelope(job))
        soft = broker._soft_limit_below(job.task, job.hard_time_limit)
        values = {**broker._message_values(job), "tag": ours["properties"]["delivery_tag"]}
        whole = json.loads(broker._build_envelope(job, soft, values))
        assert ours == whole
        assert json.loads(base64.b64decode(ours["body"])) == [
            job.args,
            job.kwargs,
            {"callbacks": None, "errbacks": None, "chain": None, "chord": None},
        ]
        assert ours["headers"]["id"] == ours["headers"]["root_id"] == str(job.id)
        assert ours["properties"]["correlation_id"] == str(job.id)


def test_a_header_hook_gets_every_message_built_whole(monkeypatch):
    """A registered hook (tracing's context) sees each job's own headers: no template."""
    seen = []

    def hook(job, headers):
        seen.append(job.id)
        headers["traceparent"] = f"00-{job.id.hex}-01"

    monkeypatch.setattr(broker, "_header_hooks", [hook])
    now = timezone.now()
    jobs = [job_build(JobSpec(task="jobs.noop", args=[i]), now=now) for i in range(3)]
    for job in jobs:
        headers = json.loads(broker._envelope(job))["headers"]
        assert headers["traceparent"] == f"00-{job.id.hex}-01"
        assert headers["id"] == str(job.id)
    assert seen == [job.id for job in jobs]
