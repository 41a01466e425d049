"""What an operator reads in a worker's output stays there: a pool process that enqueued
jobs (which looks tasks up by name) still prints its task lines and tracebacks."""

import pytest

from jobs.models import Job, JobStatus
from tests.support.waiting import wait_for
from tests.testapp.tasks import boom, enqueue_batch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _finished(job_id) -> bool:
    return Job.objects.get(id=job_id).status in (JobStatus.COMPLETED, JobStatus.FAILED)


def test_after_enqueue_many_in_a_pool_process_its_task_lines_and_tracebacks_still_print(
    start_worker,
):
    worker = start_worker(queues=["default"], concurrency=1)  # one pool process does it all
    batch = enqueue_batch.delay(3)
    wait_for(lambda: _finished(batch.id), timeout=20)
    assert Job.objects.get(id=batch.id).status == JobStatus.COMPLETED

    failing = boom.delay()
    wait_for(lambda: _finished(failing.id), timeout=20)
    wait_for(lambda: "Boom: the failure an operator must see" in worker.log(), timeout=10)

    log = worker.log()
    assert f"Task testapp.enqueue_batch[{batch.id}] succeeded" in log
    assert f"Task testapp.boom[{failing.id}] raised unexpected" in log
    assert "Traceback (most recent call last)" in log
