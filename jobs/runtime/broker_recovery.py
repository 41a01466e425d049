"""Finding messages the broker lost, so their jobs are published again.

Redis may restart empty (no persistence), be flushed, or lose a message in a killed
process's hands; the ledger still has every job. These sweeps flag such jobs
``needs_publish``, and the stager publishes them; a duplicate message is harmless (the
claim runs a job once).
"""

import logging
import uuid
from datetime import timedelta

from django.utils import timezone

from jobs.conf import jobs_settings
from jobs.ledger import broker
from jobs.ledger.models import Job, JobStatus

log = logging.getLogger(__name__)


def recover_lost_broker_data() -> int:
    """If Redis lost its data (restart without persistence, flush), republish every
    waiting job. The epoch key vanishes with the data; the dispatcher that re-creates it
    does the republishing."""
    client = broker.redis_client()
    if not client.set(broker.EPOCH_KEY, uuid.uuid4().hex, nx=True):
        return 0
    count = Job.objects.filter(status=JobStatus.WAITING, needs_publish=False).update(
        needs_publish=True
    )
    if count:
        log.warning("broker data was lost; %d waiting job(s) will be published again", count)
    return count


def flag_stale_waiting(now=None) -> int:
    """Safety net for a message lost without a trace (a process killed between commit and
    publish, a message stuck in a dead worker's unacked set): a waiting job published long
    ago whose queue has nothing left in Redis is published again."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=jobs_settings().republish_after)
    stale = Job.objects.filter(
        status=JobStatus.WAITING, needs_publish=False, published_at__lt=cutoff
    )
    queues = set(stale.values_list("queue", flat=True).distinct())
    if not queues:
        return 0
    empty = [q for q, depth in broker.queue_depths(queues).items() if depth == 0]
    if not empty:
        return 0
    return stale.filter(queue__in=empty).update(needs_publish=True)
