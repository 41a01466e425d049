"""``jobs`` (the package itself) is the only surface the products import: every name it
offers resolves, and a name it does not offer fails like a missing attribute."""

import os
import subprocess
import sys

import pytest

import jobs


def test_every_public_name_resolves():
    for name in jobs.__all__:
        assert getattr(jobs, name) is not None, name


def test_an_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        jobs.nope  # noqa: B018


def test_importing_jobs_loads_nothing_that_needs_django_set_up():
    # Settings and config/celery.py may import jobs before Django is set up.
    code = "import sys, jobs; print(sorted(m for m in sys.modules if m.startswith('jobs.')))"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"
