"""LOG_FORMAT=json as an operator reads it: a real worker's output, one JSON object per
line, with one line per job transition carrying the job's id, task, queue, attempt,
durations and outcome."""

import json
import logging

import pytest

from jobs.ledger.models import Job, JobStatus
from jobs.ledger.operations import job_cancel
from tests.support.processes import worker_env
from tests.support.waiting import wait_for
from tests.testapp.tasks import any_error_retries, record_then_enqueue

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FIELDS = {"transition", "job_id", "task", "queue", "attempt", "wait_ms", "run_ms", "outcome"}


def test_a_json_worker_logs_each_transition_as_one_json_line(start_worker, caplog):
    worker = start_worker(queues=["default"], env=worker_env(LOG_FORMAT="json"))
    chained = record_then_enqueue.delay("first", "second")
    flaky = any_error_retries.delay()
    wait_for(
        lambda: (
            Job.objects.filter(task="testapp.record").exclude(status="completed").count() == 0
            and Job.objects.filter(task="testapp.record").exists()
            and Job.objects.get(id=flaky.id).status == JobStatus.FAILED
        ),
        timeout=30,
    )
    worker.stop()

    lines = worker.log().splitlines()
    ready = next(i for i, line in enumerate(lines) if "ready." in line)
    after = [line for line in lines[ready:] if line.strip()]
    # Every line is a JSON object, but the one Celery prints itself (not a log record).
    assert [line for line in after if not line.startswith("{")] == [
        "worker: Warm shutdown (MainProcess)"
    ]
    records = [json.loads(line) for line in after if line.startswith("{")]
    transitions = [r for r in records if r["logger"] == "jobs.transitions"]
    assert all(r.keys() >= FIELDS and r["level"] == "INFO" for r in transitions)

    def of(job_id):
        return [(r["transition"], r["attempt"]) for r in transitions if r["job_id"] == job_id]

    assert of(str(chained.id)) == [("started", 1), ("completed", 1)]
    assert of(str(flaky.id)) == [
        ("started", 1), ("retried", 1),
        ("started", 2), ("retried", 2),
        ("started", 3), ("failed", 3),
    ]  # fmt: skip
    second = Job.objects.get(task="testapp.record")
    assert of(str(second.id)) == [("enqueued", 0), ("started", 1), ("completed", 1)]
    done = next(r for r in transitions if r["job_id"] == str(chained.id) and r["run_ms"])
    assert done["task"] == "testapp.record_then_enqueue" and done["queue"] == "default"
    assert done["wait_ms"] >= 0 and done["run_ms"] > 0 and done["outcome"] == "completed"

    # Enqueues and cancels happen in the caller's process: the same line there.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="jobs.transitions"):
        later = record_then_enqueue.apply_async(("x", "y"), countdown=3600)
        assert job_cancel(job_id=str(later.id))
    logged = [(r.transition, r.job_id, r.task, r.queue) for r in caplog.records]
    assert logged == [
        ("enqueued", str(later.id), "testapp.record_then_enqueue", "default"),
        ("cancelled", str(later.id), "testapp.record_then_enqueue", "default"),
    ]
