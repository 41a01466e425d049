"""Global rate limits: one sliding-window log in Redis per queue or task, shared by every
worker process on every machine.

Celery's own ``rate_limit`` is per worker process; this one holds across the fleet: at most
``max`` jobs start in any window of ``duration`` ms, checked atomically against the log of
actual starts. A job that finds the window full is deferred (back to ``delayed``), not
failed, and spends no attempt. Deferred jobs reserve a future slot, so they come back spaced
out instead of all retrying at once; the reservation is only a hint, the log decides. A job
that comes back for its slot and still finds the window full (the job before it started
late) keeps its place in line: it waits only until the log has room, not behind every
reservation made since.
"""

import time
from datetime import datetime, timedelta

from django.utils import timezone

from jobs.errors import InvalidInput
from jobs.ledger.attempts import reconnecting
from jobs.ledger.broker import redis_client
from jobs.ledger.models import QueueState

_task_limits: dict[str, tuple[int, int]] = {}
_queue_limits: dict[str, tuple[int, int]] = {}
_queue_limits_loaded_at = -1e9
QUEUE_LIMITS_TTL = 2.0

# KEYS[1]: actual starts (score = start ms); KEYS[2]: pending reservations (member = job).
# Returns 0 (start now, recorded) or the ms until the job's reserved slot.
_SLIDING_WINDOW = """
local max, duration, job = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - duration)
local returning = redis.call('ZREM', KEYS[2], job) == 1
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - duration)
if redis.call('ZCARD', KEYS[1]) < max then
  redis.call('ZADD', KEYS[1], now, job .. ':' .. now)
  redis.call('PEXPIRE', KEYS[1], duration * 2)
  return 0
end
local times = {}
for _, v in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')) do
  if _ % 2 == 0 then table.insert(times, tonumber(v)) end
end
if not returning then
  for _, v in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')) do
    if _ % 2 == 0 then table.insert(times, tonumber(v)) end
  end
end
table.sort(times)
local slot = math.max(now, times[#times - max + 1] + duration) + 1
redis.call('ZADD', KEYS[2], slot, job)
redis.call('PEXPIRE', KEYS[2], slot - now + duration * 2)
return slot - now
"""
_script = None


def parse_rate(text: str) -> tuple[int, int]:
    """'100/s', '10/m', '5/h' or '100/1000ms' -> (max, duration_ms)."""
    try:
        count, _, unit = str(text).partition("/")
        units = {"s": 1000, "m": 60_000, "h": 3_600_000}
        duration = int(unit[:-2]) if unit.endswith("ms") else units[unit]
        value = (int(count), duration)
    except (KeyError, ValueError):
        raise InvalidInput(
            f"{text!r} is not like '100/s', '10/m' or '5/h'", field="rate_limit"
        ) from None
    if value[0] < 1 or value[1] < 1:
        raise InvalidInput(f"{text!r} must be positive", field="rate_limit")
    return value


def declare_task_limit(task_name: str, rate: str) -> None:
    _task_limits[task_name] = parse_rate(rate)


def _queue_limit(queue: str) -> tuple[int, int] | None:
    """Queue limits live in the DB (QueueState, editable in admin); re-read every 2 s."""
    global _queue_limits, _queue_limits_loaded_at
    if time.monotonic() - _queue_limits_loaded_at > QUEUE_LIMITS_TTL:
        # The first statement of a job's start when the limits are due: on a connection
        # the database dropped it must reconnect like the claim after it, not fail the job
        # and leave the process on a closed connection.
        _queue_limits = reconnecting(
            lambda: {
                q.name: (q.rate_limit_max, q.rate_limit_duration_ms)
                for q in QueueState.objects.filter(rate_limit_max__isnull=False)
                if q.rate_limit_max is not None
            }
        )
        _queue_limits_loaded_at = time.monotonic()
    return _queue_limits.get(queue)


def _take(bucket: str, limit: tuple[int, int], job_id: str) -> int:
    global _script
    if _script is None:
        _script = redis_client().register_script(_SLIDING_WINDOW)
    count, duration_ms = limit
    keys = [f"jobs:ratelimit:{bucket}:starts", f"jobs:ratelimit:{bucket}:pending"]
    return int(_script(keys=keys, args=[count, duration_ms, job_id]))


def acquire(*, task: str, queue: str, job_id: str) -> datetime | None:
    """None if the job may start now; otherwise when its reserved slot comes."""
    wait_ms = 0
    for bucket, limit in (
        (f"task:{task}", _task_limits.get(task)),
        (f"queue:{queue}", _queue_limit(queue)),
    ):
        if limit is not None:
            wait_ms = max(wait_ms, _take(bucket, limit, job_id))
    if not wait_ms:
        return None
    return timezone.now() + timedelta(milliseconds=wait_ms)
