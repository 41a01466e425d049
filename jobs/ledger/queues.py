"""Queue controls kept in the database: the declared queues, pause/resume, rate limits.

A paused queue's jobs stay ``waiting``; the row named ``"*"`` pauses every queue. The
paused set is read here only, by the claim's SQL, the publisher and the metrics alike.
"""

from django.db.models import Q
from django.utils import timezone

from jobs.conf import jobs_settings
from jobs.errors import InvalidInput
from jobs.ledger.models import Job, JobStatus, QueueState


def known_queues() -> set[str]:
    return set(queue_names())


def queue_pause(*, queue: str) -> QueueState:
    """Durably pause a queue ("*" for all). Its jobs stay waiting until resumed."""
    state, _ = QueueState.objects.update_or_create(
        name=queue, defaults={"paused": True, "paused_at": timezone.now()}
    )
    return state


def queue_resume(*, queue: str) -> int:
    """Resume a queue; jobs whose messages were put back are published in priority order
    by the dispatcher. Returns how many are due for publishing."""
    QueueState.objects.filter(name=queue).update(paused=False, paused_at=None)
    jobs = Job.objects.filter(status=JobStatus.WAITING, needs_publish=True)
    if queue != QueueState.ALL:
        jobs = jobs.filter(queue=queue)
    return jobs.count()


def queue_names() -> list[str]:
    """Declared queues, in settings order."""
    return list(jobs_settings().queues)


def paused_queues() -> set[str]:
    return set(QueueState.objects.filter(paused=True).values_list("name", flat=True))


def is_paused(queue: str, paused: set[str]) -> bool:
    return queue in paused or QueueState.ALL in paused


def unpaused_filter() -> Q:
    """Rows of the queues that are not paused."""
    paused = paused_queues()
    if QueueState.ALL in paused:
        return Q(pk__in=[])
    return ~Q(queue__in=paused) if paused else Q()


def queue_set_rate_limit(*, queue: str, max_jobs: int | None, duration_ms: int = 1000) -> None:
    """Set (or with max_jobs=None clear) a queue's global limit: max_jobs per duration_ms."""
    if max_jobs is not None and (max_jobs < 1 or duration_ms < 1):
        raise InvalidInput("max and duration must be positive", field="rate_limit")
    QueueState.objects.update_or_create(
        name=queue, defaults={"rate_limit_max": max_jobs, "rate_limit_duration_ms": duration_ms}
    )
