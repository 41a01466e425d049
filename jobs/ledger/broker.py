"""Ringing the doorbell: publishing ledger jobs to Redis, and reading broker state.

Publishing happens only after the ledger row is committed. A failed publish is never an
error for the caller: the row is flagged ``needs_publish`` and the dispatcher publishes it
when Redis is back.
"""

import base64
import bisect
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Sequence

import redis
from celery import current_app
from celery.utils.nodenames import anon_nodename
from django.conf import settings
from kombu.utils import json as kombu_json

from jobs.ledger.models import Job

log = logging.getLogger(__name__)

# Redis keys that survive only as long as the broker's data does (see dispatcher).
EPOCH_KEY = "jobs:broker-epoch"
# Message header of every message the ledger publishes (see _envelope).
LEDGER_HEADER = "jobs_ledger"

_clients: dict[tuple[int, str], redis.Redis] = {}

# kombu's JSON (its encoder's types, json.dumps' defaults), with one encoder for every
# message: kombu_json.dumps builds a new encoder on each call.
_kombu_json = kombu_json.JSONEncoder().encode


def _origin() -> str:
    """The 'origin' header Celery would add (the publishing node), computed once."""
    global _origin_name
    if _origin_name is None or _origin_name[0] != os.getpid():
        _origin_name = (os.getpid(), anon_nodename())
    return _origin_name[1]


_origin_name: tuple[int, str] | None = None

# Called with (job, headers) for every message built, when something registered (tracing
# puts its context into the headers): nothing to pay for when the list is empty.
_header_hooks: list[Callable[[Job, dict], None]] = []


def register_header_hook(hook: Callable[[Job, dict], None]) -> None:
    if hook not in _header_hooks:
        _header_hooks.append(hook)


def _envelope(job: Job) -> str:
    """The message kombu's Redis transport would store for this job, built directly.

    Headers and body are what Celery's task-protocol builder makes; the envelope around them
    is kombu's (jobs/tests/ledger/test_broker_envelope.py checks it against kombu's own
    output). Built here so that a batch of jobs is one LPUSH per priority list instead of
    one kombu publish per job.

    Jobs of one task, queue, priority and time limits differ only in five values (the id,
    the body, the two argument reprs, the delivery tag), so the rest is built and encoded
    once per process (``_template``) and each job fills in its own values: building every
    message whole was a third of ``enqueue_many``'s time.
    """
    values = _message_values(job)
    soft_limit = _soft_limit_below(job.task, job.hard_time_limit)
    if _header_hooks:
        # A hook may put anything in the headers (a trace context per job): no template.
        return _build_envelope(job, soft_limit, values)
    key = (os.getpid(), job.task, job.queue, job.priority, job.hard_time_limit, soft_limit)
    template = _templates.get(key)
    if template is None:
        if len(_templates) >= 1024:
            _templates.clear()
        template = _templates[key] = _template(job, soft_limit)
    values["argsrepr"] = _kombu_json(values["argsrepr"])
    values["kwargsrepr"] = _kombu_json(values["kwargsrepr"])
    return template % values


def _message_values(job: Job) -> dict[str, str]:
    """The five values of a job's message that are its own, as they are stored."""
    # Ledger arguments are JSON values, so plain repr is safe; Celery's saferepr would be a
    # third of the cost of enqueueing a job.
    amqp = current_app.amqp
    return {
        "id": str(job.id),
        "body": base64.b64encode(_kombu_json([job.args, job.kwargs, _EMBED]).encode()).decode(),
        "argsrepr": repr(job.args)[: amqp.argsrepr_maxsize],
        "kwargsrepr": repr(job.kwargs)[: amqp.kwargsrepr_maxsize],
        "tag": str(uuid.uuid4()),
    }


# Celery's "embed" (the message body's third item): a ledger message carries no callbacks,
# errbacks, chain or chord; workflows are continued by the ledger (jobs.ledger.workflows).
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}

# Encoded envelopes with %-placeholders, per (process, task, queue, priority, time limits).
_templates: dict[tuple, str] = {}
_SLOT = "jobs-ledger-slot-{}"


def _template(job: Job, soft_limit: float | None) -> str:
    """The envelope of ``job`` encoded once, with a %-placeholder for each per-job value.

    The id, body and tag are ASCII (a UUID, base64), so they fill the placeholder inside
    the encoded string's quotes; the reprs are filled in already encoded (quotes included),
    as kombu's encoder escapes them."""
    slots = {name: _SLOT.format(name) for name in ("id", "body", "argsrepr", "kwargsrepr", "tag")}
    encoded = _build_envelope(job, soft_limit, slots).replace("%", "%%")
    for name, slot in slots.items():
        quoted = name in ("argsrepr", "kwargsrepr")
        encoded = encoded.replace(f'"{slot}"', f"%({name})s" if quoted else f'"%({name})s"')
    return encoded


def _build_envelope(job: Job, soft_limit: float | None, values: dict[str, str]) -> str:
    """The envelope built whole, with ``values`` for the id, body, reprs and tag."""
    message = current_app.amqp.as_task_v2(
        values["id"],
        job.task,
        ignore_result=True,
        argsrepr=values["argsrepr"],
        kwargsrepr=values["kwargsrepr"],
        origin=_origin(),
        # The job's own hard time limit (per-job timeout, else its task's): the worker
        # reads the message's before the task's, so a per-job value is enforced there.
        time_limit=job.hard_time_limit,
        soft_time_limit=soft_limit,
    )
    # Marks a message the ledger sent. A worker adopts (records, then runs) a message for a
    # ledger task that has no row only when it lacks this mark: it came from send_task or
    # another producer. A marked message without a row was removed and is not run.
    message.headers[LEDGER_HEADER] = 1
    for hook in _header_hooks:
        hook(job, message.headers)
    return _kombu_json(
        {
            "body": values["body"],
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": message.headers,
            "properties": {
                **message.properties,
                "delivery_mode": 2,
                # The anonymous exchange: the routing key is the queue.
                "delivery_info": {"exchange": "", "routing_key": job.queue},
                "priority": job.priority,
                "body_encoding": "base64",
                "delivery_tag": values["tag"],
            },
        }
    )


def _soft_limit_below(task_name: str, hard: int | None) -> float | None:
    """The soft limit a message needs so that its hard limit holds.

    Celery's prefork pool starts a job's hard-limit timer only once its soft limit has
    passed, so a soft limit at or above the hard one (the global soft limit under a short
    per-job timeout) holds the kill back until the soft limit. Such a message carries a soft
    limit of its own, shortly before the hard one: the task gets SoftTimeLimitExceeded,
    then its process is killed at the hard limit. None: the task's own soft limit applies."""
    if not hard:
        return None
    task = current_app.tasks.get(task_name)
    soft = getattr(task, "soft_time_limit", None) or current_app.conf.task_soft_time_limit
    if soft is None or soft < hard:
        return None
    return max(hard * 0.5, hard - 1.0)


def publish(jobs: Sequence[Job]) -> None:
    """Publish jobs: one round trip, one LPUSH per (queue, priority) list, in order.

    Raises on broker errors (after one retry, which is what a Redis restart needs)."""
    if not jobs:
        return
    lists: dict[str, list[str]] = {}
    for job in jobs:
        lists.setdefault(_list_for(job.queue, job.priority), []).append(_envelope(job))
    for attempt in (1, 2):
        try:
            with redis_client().pipeline(transaction=False) as pipe:
                for key, messages in lists.items():
                    # LPUSH k m1 m2 m3 leaves m1 nearest the consumer's end (FIFO).
                    pipe.lpush(key, *messages)
                pipe.execute()
            return
        except redis.ConnectionError:
            if attempt == 2:
                raise


def reset_connection() -> None:
    """Drop this process's broker clients (e.g. after Redis was replaced)."""
    for key in [k for k in _clients if k[0] == os.getpid()]:
        _clients.pop(key).close()


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


def redis_client() -> redis.Redis:
    """This process's client on the broker's Redis (publishing, depths, epochs, rate
    limits). Thread-safe; re-made after a fork or when the broker URL changes."""
    key = (os.getpid(), settings.CELERY_BROKER_URL)
    client = _clients.get(key)
    if client is None:
        client = redis.Redis.from_url(key[1], socket_connect_timeout=2, socket_timeout=5)
        _clients[key] = client
    return client


def _list_for(queue: str, priority: int) -> str:
    """The Redis list kombu's transport uses for this queue and priority."""
    sep = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("sep", "\x06\x16")
    steps = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("priority_steps", [0, 3, 6, 9])
    step = steps[bisect.bisect(steps, priority) - 1]
    return queue if step == 0 else f"{queue}{sep}{step}"


def _priority_lists(queue: str) -> list[str]:
    steps = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("priority_steps", [0, 3, 6, 9])
    return [_list_for(queue, step) for step in steps]


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
