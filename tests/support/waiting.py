"""Polling helper for tests that wait on real processes."""

import time


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):
    """Return the first truthy value of ``predicate()``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
