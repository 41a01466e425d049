"""Retry delays: exponential, fixed, or any callable of the attempt number."""

import random
from collections.abc import Callable
from dataclasses import dataclass

from jobs.errors import InvalidInput


@dataclass(frozen=True)
class Backoff:
    kind: str
    delay: float = 1.0
    max_delay: float = 3600.0
    jitter: bool = False
    function: Callable[[int], float] | None = None

    def seconds(self, attempt: int) -> float:
        """Delay before the attempt after ``attempt`` (1 = the first attempt failed)."""
        if self.kind == "custom":
            assert self.function is not None
            return max(0.0, float(self.function(attempt)))
        if self.kind == "fixed":
            value = self.delay
        else:
            value = min(self.max_delay, self.delay * (2 ** (attempt - 1)))
        if self.jitter:
            # Full jitter spreads a thundering herd of retries over the whole window.
            value = random.uniform(0, value)
        return value


def exponential(delay: float = 1.0, max_delay: float = 3600.0, jitter: bool = False) -> Backoff:
    """delay, 2*delay, 4*delay, ... capped at max_delay (1s -> 2s -> 4s -> 8s)."""
    return Backoff("exponential", delay=delay, max_delay=max_delay, jitter=jitter)


def fixed(delay: float) -> Backoff:
    """The same delay before every retry."""
    return Backoff("fixed", delay=delay)


def custom(function: Callable[[int], float]) -> Backoff:
    """``function(attempt) -> seconds``; e.g. ``lambda n: n * 60`` for 1 min, 2 min, 3 min."""
    return Backoff("custom", function=function)


def parse(value: "Backoff | str | dict | None") -> Backoff:
    """Accept a Backoff, "exponential"/"fixed", or BullMQ's {"type": ..., "delay": ms}."""
    if value is None:
        return exponential()
    if isinstance(value, Backoff):
        return value
    if isinstance(value, str):
        return (
            exponential()
            if value == "exponential"
            else fixed(1.0)
            if value == "fixed"
            else _bad(value)
        )
    if isinstance(value, dict):
        seconds = float(value.get("delay", 1000)) / 1000.0
        kind = value.get("type", "exponential")
        return (
            exponential(seconds)
            if kind == "exponential"
            else fixed(seconds)
            if kind == "fixed"
            else _bad(kind)
        )
    if callable(value):
        return custom(value)
    return _bad(value)


def _bad(value: object) -> Backoff:
    raise InvalidInput(
        f"unknown backoff {value!r}: use exponential(), fixed() or custom()", field="backoff"
    )
