"""The shared cache, which keeps answering while Redis is down.

Throttle counters, the health answer's worker list and the clean-shutdown markers live in
Django's cache, which is Redis. None of them is worth an error to a caller: when Redis does
not answer, ``FallbackRedisCache`` serves from a memory cache local to the process for
``RETRY_SECONDS`` (one warning per outage), then tries Redis again. Throttles thus degrade
to per-process budgets instead of failing, and ``cache_outage()`` tells the health answers
that they did.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# How long a failed Redis call sends every cache call to the local store before Redis is
# tried again: short enough to notice recovery at once, long enough that a dead Redis does
# not cost each request a connection attempt.
RETRY_SECONDS = 5.0

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


class FallbackRedisCache(RedisCache):
    """Django's Redis cache, falling back to a per-process memory cache while Redis is down.

    Configured like ``RedisCache``; short socket timeouts belong in OPTIONS so that an
    unreachable (rather than refusing) Redis costs a request at most that long, once.
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        self._local = LocMemCache(
            f"fallback-{id(self)}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
                "OPTIONS": {"MAX_ENTRIES": 10_000},
            },
        )
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.outage: str | None = None  # why Redis is not used, while it is not

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._down_until and time.monotonic() < self._down_until:
            return getattr(self._local, name)(*args, **kwargs)
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except REDIS_DOWN as exc:
            self._went_down(exc)
            return getattr(self._local, name)(*args, **kwargs)
        if self._down_until:
            self._came_back()
        return result

    def _went_down(self, exc: BaseException) -> None:
        with self._lock:
            first = self.outage is None
            self.outage = f"{type(exc).__name__}: {exc}"
            self._down_until = time.monotonic() + RETRY_SECONDS
        if first:
            log.warning(
                "cache: Redis is unreachable (%s); throttles and cached answers use this "
                "process's memory until it is back",
                self.outage,
            )

    def _came_back(self) -> None:
        with self._lock:
            was_down, self.outage, self._down_until = self.outage is not None, None, 0.0
        if was_down:
            log.warning("cache: Redis answers again; the shared cache is back in use")


def _delegating(name: str) -> Callable[..., Any]:
    def method(self: FallbackRedisCache, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"RedisCache.{name}, or the local store while Redis is down."
    return method


# Every RedisCache operation; BaseCache builds the rest (decr, get_or_set, the async
# variants) on these.
for _name in (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(FallbackRedisCache, _name, _delegating(_name))


def cache_outage() -> str | None:
    """Why the shared cache is not in use right now (Redis unreachable), or None."""
    backend = caches["default"]
    return backend.outage if isinstance(backend, FallbackRedisCache) else None
