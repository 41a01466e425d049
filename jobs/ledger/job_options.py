"""Per-job options (BullMQ's job options): each checked, and put in the one JSON form the
ledger row stores. Every function raises ``InvalidInput`` naming the option."""

import math
from typing import Any

from django.conf import settings

from jobs.errors import InvalidInput
from jobs.ledger.backoff import Backoff

BACKOFF_TYPES = ("exponential", "fixed")
# About ten years, in milliseconds: the API's bound on a delay, used for a retry delay too.
MAX_BACKOFF_DELAY_MS = 3660 * 24 * 3600 * 1000
# A kept count or age beyond these is no limit at all; refusing it keeps the SQL in range.
MAX_KEEP_COUNT = 1_000_000_000
MAX_KEEP_AGE = 3660 * 24 * 3600
MAX_UNIQUE_FOR = 3660 * 24 * 3600


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return _number(value) and float(value).is_integer()


def backoff_option(value: Any) -> dict | None:
    """{"type": "exponential"|"fixed", "delay": ms}; a Backoff of either kind is accepted
    too (a custom function cannot be stored on a row)."""
    if value is None:
        return None
    if isinstance(value, Backoff):
        if value.kind not in BACKOFF_TYPES:
            raise InvalidInput(
                "a per-job backoff is exponential or fixed; declare a custom one on the task",
                field="backoff",
            )
        return {"type": value.kind, "delay": value.delay * 1000}
    if isinstance(value, str) and value in BACKOFF_TYPES:
        return {"type": value, "delay": 1000}
    if not isinstance(value, dict):
        raise InvalidInput(
            'must be {"type": "exponential" or "fixed", "delay": milliseconds}', field="backoff"
        )
    unknown = sorted(set(value) - {"type", "delay"})
    if unknown:
        raise InvalidInput(f"unknown key(s) {', '.join(unknown)}", field="backoff")
    kind = value.get("type", "exponential")
    if kind not in BACKOFF_TYPES:
        raise InvalidInput(f"type must be exponential or fixed, not {kind!r}", field="backoff")
    delay = value.get("delay", 1000)
    if not _number(delay) or not 0 <= delay <= MAX_BACKOFF_DELAY_MS:
        raise InvalidInput("delay must be milliseconds from 0 to about ten years", field="backoff")
    return {"type": kind, "delay": delay}


def timeout_option(value: Any, *, field: str = "timeout") -> int | None:
    """Whole seconds, shorter than the broker's visibility timeout: a longer run would be
    delivered to a second worker while the first still runs it."""
    if value is None:
        return None
    limit = settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    if not _whole(value) or not 1 <= value < limit:
        raise InvalidInput(
            f"must be whole seconds from 1 to {limit - 1} (below CELERY_BROKER_VISIBILITY_TIMEOUT)",
            field=field,
        )
    return int(value)


def removal_option(value: Any, *, field: str) -> bool | dict | None:
    """BullMQ's removeOnComplete / removeOnFail: true (remove as it finishes), false or
    None (keep: the global retention applies), a number n (keep the newest n), or
    {"age": seconds, "count": n} (keep jobs up to age seconds old, and at most n)."""
    if value is None or value is False:
        return None
    if value is True:
        return True
    if _whole(value):
        value = {"count": value}
    if not isinstance(value, dict) or not value:
        raise InvalidInput(
            'must be true, false, a count, or {"age": seconds, "count": n}', field=field
        )
    unknown = sorted(set(value) - {"age", "count"})
    if unknown:
        raise InvalidInput(f"unknown key(s) {', '.join(unknown)}", field=field)
    policy: dict = {}
    # A key given is a number: {"age": 5, "count": null} is refused, as the schema says.
    if "age" in value:
        if not _whole(value["age"]) or not 0 <= value["age"] <= MAX_KEEP_AGE:
            raise InvalidInput("age must be whole seconds, at least 0", field=field)
        policy["age"] = int(value["age"])
    if "count" in value:
        if not _whole(value["count"]) or not 0 <= value["count"] <= MAX_KEEP_COUNT:
            raise InvalidInput("count must be a whole number, at least 0", field=field)
        policy["count"] = int(value["count"])
    if not policy:
        raise InvalidInput("give age, count or both", field=field)
    return policy


def unique_for_option(value: Any, *, job_key: str | None) -> float | None:
    """The dedupe window in seconds; it needs a job_key to deduplicate on."""
    if value is None:
        return None
    if not _number(value) or not 0 < value <= MAX_UNIQUE_FOR:
        raise InvalidInput("must be seconds, more than 0", field="unique_for")
    if not job_key:
        raise InvalidInput("needs a job_key to deduplicate on", field="unique_for")
    return float(value)
