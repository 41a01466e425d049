"""Ringing the doorbell: publishing ledger jobs to Redis, and reading broker state.

Publishing happens only after the ledger row is committed. A failed publish is never an
error for the caller: the row is flagged ``needs_publish`` and the dispatcher publishes it
when Redis is back.
"""

import logging
from collections.abc import Iterable, Sequence

from celery import current_app
from django.conf import settings

from jobs.models import Job

log = logging.getLogger(__name__)

# A short publish retry: a request whose broker is down answers in well under a second and
# leaves the job to the dispatcher, instead of blocking on Celery's default retry policy.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
# Redis keys that survive only as long as the broker's data does (see dispatcher).
EPOCH_KEY = "jobs:broker-epoch"


def publish(jobs: Sequence[Job]) -> None:
    """Publish jobs in one pipelined round trip. Raises on broker errors."""
    if not jobs:
        return
    app = current_app
    with app.producer_or_acquire() as producer, producer.batch(max_size=1000):
        for job in jobs:
            app.send_task(
                job.task,
                args=job.args,
                kwargs=job.kwargs,
                task_id=str(job.id),
                # The anonymous exchange routes straight to the queue's list, skipping a
                # binding lookup round trip per message.
                exchange="",
                routing_key=job.queue,
                queue=job.queue,
                priority=job.priority,
                ignore_result=True,
                producer=producer,
                retry_policy=PUBLISH_RETRY_POLICY,
            )


def publish_or_flag(jobs: Sequence[Job]) -> bool:
    """Publish; on a broker error flag the rows so the dispatcher publishes them later."""
    try:
        publish(jobs)
        return True
    except Exception as exc:  # any broker/connection error: the ledger keeps the job
        log.warning("publish of %d job(s) failed, the dispatcher will retry: %s", len(jobs), exc)
        try:
            Job.objects.filter(id__in=[j.id for j in jobs]).update(needs_publish=True)
        except Exception:
            log.exception("could not flag unpublished jobs; the stale-job sweep will find them")
        return False


def redis_client():
    """A redis-py client on the broker's Redis (for depths, epochs and rate limits)."""
    import redis

    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=5
    )


def _priority_lists(queue: str) -> list[str]:
    sep = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("sep", "\x06\x16")
    steps = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("priority_steps", [0, 3, 6, 9])
    return [queue if step == 0 else f"{queue}{sep}{step}" for step in steps]


def queue_depths(queues: Iterable[str], client=None) -> dict[str, int]:
    """Messages sitting in Redis per queue, summed over its priority lists."""
    queues = list(queues)
    client = client or redis_client()
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for key in _priority_lists(queue):
                pipe.llen(key)
        sizes = pipe.execute()
    steps = len(_priority_lists("x"))
    return {q: sum(sizes[i * steps : (i + 1) * steps]) for i, q in enumerate(queues)}
