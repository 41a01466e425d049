"""Global rate limits: one token bucket in Redis per queue or task, shared by every worker.

Celery's own ``rate_limit`` is per worker process; this one holds across the fleet. A job
without a token is deferred (back to ``delayed``), not failed, and spends no attempt.
"""

import logging
import time
from datetime import datetime, timedelta

from django.utils import timezone

log = logging.getLogger(__name__)

_task_limits: dict[str, tuple[int, int]] = {}
_queue_limits: dict[str, tuple[int, int]] = {}
_queue_limits_loaded_at = 0.0
QUEUE_LIMITS_TTL = 2.0

# Token bucket refilled continuously: `max` tokens per `duration` ms, burst of `max`.
_BUCKET = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) / tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * per_ms)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', key, math.ceil(capacity / per_ms) + 1000)
return wait
"""
_script = None


def parse_rate(text: str) -> tuple[int, int]:
    """ "100/s", "10/m", "5/h" or "100/1000ms" -> (max, duration_ms)."""
    try:
        count, _, unit = text.partition("/")
        units = {"s": 1000, "m": 60_000, "h": 3_600_000}
        duration = int(unit[:-2]) if unit.endswith("ms") else units[unit]
        value = (int(count), duration)
    except (KeyError, ValueError):
        raise ValueError(f"rate_limit: {text!r} is not like '100/s', '10/m' or '5/h'") from None
    if value[0] < 1 or value[1] < 1:
        raise ValueError(f"rate_limit: {text!r} must be positive")
    return value


def declare_task_limit(task_name: str, rate: str) -> None:
    _task_limits[task_name] = parse_rate(rate)


def _queue_limit(queue: str) -> tuple[int, int] | None:
    global _queue_limits, _queue_limits_loaded_at
    if time.monotonic() - _queue_limits_loaded_at > QUEUE_LIMITS_TTL:
        from jobs.models import QueueState

        _queue_limits = {
            q.name: (q.rate_limit_max, q.rate_limit_duration_ms)
            for q in QueueState.objects.filter(rate_limit_max__isnull=False)
        }
        _queue_limits_loaded_at = time.monotonic()
    return _queue_limits.get(queue)


def _take(key: str, limit: tuple[int, int]) -> int:
    global _script
    from jobs.broker import redis_client

    if _script is None:
        _script = redis_client().register_script(_BUCKET)
    return int(_script(keys=[f"jobs:ratelimit:{key}"], args=[limit[0], limit[0], limit[1]]))


def acquire(*, task: str, queue: str) -> datetime | None:
    """Take a token for the task and its queue; returns when to try again if there is none."""
    wait_ms = 0
    for key, limit in (
        (f"task:{task}", _task_limits.get(task)),
        (f"queue:{queue}", _queue_limit(queue)),
    ):
        if limit is not None:
            wait_ms = max(wait_ms, _take(key, limit))
    if not wait_ms:
        return None
    return timezone.now() + timedelta(milliseconds=wait_ms)
