"""The stager publishes a delayed job when it is due, not at its next tick; and several
stagers (one per worker) waking for the same jobs still run each job once."""

import pytest
from django.db.models import Count

from jobs.models import Job, JobStatus
from tests.support.processes import worker_env
from tests.support.waiting import wait_for
from tests.testapp.models import SideEffect
from tests.testapp.tasks import record

pytestmark = pytest.mark.integration


def lateness(job_ids: list[str]) -> list[float]:
    return [
        (job.started_at - job.scheduled_for).total_seconds()
        for job in Job.objects.filter(id__in=job_ids)
    ]


def test_a_delayed_job_starts_at_its_due_time_between_the_stagers_ticks(start_worker):
    # Given a worker whose stager ticks every 2 s
    start_worker("slow-tick", queues=["default"], env=worker_env(JOBS_DISPATCH_INTERVAL=2))

    # When jobs fall due between its ticks
    ids = [record.apply_async((f"due-{i}",), countdown=2 + 0.3 * i).id for i in range(5)]
    wait_for(
        lambda: Job.objects.filter(id__in=ids, status=JobStatus.COMPLETED).count() == 5,
        timeout=30,
    )

    # Then they start when due, where a tick's wait would make them up to 2 s late (the
    # bound on the slowest one leaves room for a busy machine)
    late = sorted(lateness(ids))
    assert late[2] < 0.15 and late[-1] < 1.0, late


def test_two_stagers_waking_for_the_same_due_jobs_run_each_once(start_worker):
    # Given two workers, each with its stager
    start_worker("stager-a", queues=["default"])
    start_worker("stager-b", queues=["default"])

    # When 200 delayed jobs fall due at the same moment
    ids = [record.apply_async((f"same-{i}",), countdown=3).id for i in range(200)]
    wait_for(
        lambda: Job.objects.filter(id__in=ids, status=JobStatus.COMPLETED).count() == 200,
        timeout=60,
    )

    # Then each ran once
    assert not Job.objects.filter(id__in=ids).exclude(attempts=1).exists()
    per_key = SideEffect.objects.values("key").annotate(n=Count("id"))
    assert len(per_key) == 200 and {row["n"] for row in per_key} == {1}
