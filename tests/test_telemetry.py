"""Sentry and OpenTelemetry, switched on by their settings in a real worker: a failing
job's event reaches a Sentry endpoint (a local HTTP server here) tagged with the job id and
attempt, and a job enqueued by another job is one trace from its publish to its run."""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobs.ledger.models import Job, JobStatus
from tests.support.processes import worker_env
from tests.support.waiting import wait_for
from tests.testapp.tasks import boom, record_then_enqueue

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class _SentryIntake(BaseHTTPRequestHandler):
    envelopes: list[bytes]

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.envelopes.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_intake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SentryIntake)
    server.envelopes = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _events(envelopes: list[bytes]) -> list[dict]:
    events = []
    for envelope in envelopes:
        lines = envelope.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_sentry_gets_the_jobs_error_tagged_and_a_chained_job_is_one_trace(
    start_worker, sentry_intake
):
    port = sentry_intake.server_address[1]
    env = worker_env(SENTRY_DSN=f"http://public@127.0.0.1:{port}/1", OTEL_TRACES="console")
    worker = start_worker(queues=["default"], env=env)
    failed = boom.delay()
    chained = record_then_enqueue.delay("parent", "child")
    wait_for(
        lambda: (
            Job.objects.get(id=failed.id).status == JobStatus.FAILED
            and Job.objects.filter(task="testapp.record", status=JobStatus.COMPLETED).exists()
        ),
        timeout=30,
    )
    wait_for(lambda: _events(sentry_intake.envelopes), timeout=15)

    event = _events(sentry_intake.envelopes)[0]
    assert event["tags"]["job_id"] == str(failed.id)
    assert event["tags"]["attempt"] == "1"
    assert event["exception"]["values"][-1]["type"] == "Boom"

    child = Job.objects.get(task="testapp.record")
    worker.stop()
    # One JSON line per span (Celery prefixes what a pool process prints with its logger's).
    spans = [
        json.loads(line[line.index('{"name"') :])
        for line in worker.log().splitlines()
        if '{"name"' in line
    ]
    publish = next(s for s in spans if s["name"] == "publish testapp.record")
    run = next(s for s in spans if s["name"] == "run/testapp.record")
    assert publish["attributes"]["job.id"] == str(child.id)
    assert run["context"]["trace_id"] == publish["context"]["trace_id"]
    assert run["parent_id"] == publish["context"]["span_id"]
    parent_run = next(s for s in spans if s["name"] == "run/testapp.record_then_enqueue")
    assert publish["parent_id"] == parent_run["context"]["span_id"]
    assert parent_run["attributes"]["messaging.message.id"] == str(chained.id)
