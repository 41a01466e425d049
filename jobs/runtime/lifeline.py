"""The rescuer (Oban's Lifeline): jobs whose worker process died go back to ``waiting``.

A job is rescued when its process has no recent heartbeat, or when its hard time limit
passed long ago; a job that keeps killing its worker is failed as poison instead of
looping forever (``JOBS_POISON_THRESHOLD``).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from jobs.conf import jobs_settings
from jobs.ledger import attempts
from jobs.ledger.models import Job, JobStatus
from jobs.ledger.workers import live_workers
from jobs.runtime import database_outage, workflows

log = logging.getLogger(__name__)

BATCH = 5000


def reap_lost_jobs(now=None) -> dict[str, int]:
    """Active jobs whose process has no heartbeat, or whose hard time limit passed long
    ago, go back to waiting; a job that keeps killing its worker is failed (poison)."""
    since_outage = database_outage.seconds_since_failure()
    if since_outage is not None and since_outage < jobs_settings().heartbeat_timeout:
        # Nobody could write a heartbeat during the outage: give live workers one timeout
        # to be heard again before calling anyone dead.
        return {"requeued": 0, "failed": 0}
    now = now or timezone.now()
    timeout = timedelta(seconds=jobs_settings().heartbeat_timeout)
    live = set(live_workers(now=now).values_list("name", flat=True))
    candidates = Job.objects.filter(
        status=JobStatus.ACTIVE, started_at__lt=now - timeout
    ).values_list("id", "worker", "started_at", "hard_time_limit")[:BATCH]
    outcome = {"requeued": 0, "failed": 0}
    for job_id, worker, started_at, limit in candidates:
        limit = limit or settings.CELERY_TASK_TIME_LIMIT
        # started_at is set with the claim; an active row without one counts as overdue.
        overdue = started_at is None or started_at + timedelta(seconds=2 * limit) < now
        if worker in live and not overdue:
            continue
        status = attempts.job_worker_lost(
            job_id=str(job_id),
            worker=worker,
            reason="hard time limit long passed" if overdue else "no heartbeat",
            poison_threshold=jobs_settings().poison_threshold,
        )
        if status == JobStatus.WAITING:
            outcome["requeued"] += 1
        elif status == JobStatus.FAILED:
            outcome["failed"] += 1
            workflows.step_ended_abnormally(job_id=str(job_id))
    if any(outcome.values()):
        log.warning("reaper: %s", outcome)
    return outcome
