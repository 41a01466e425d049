"""The platform's typed settings: defaults, overrides, and a loud error on a bad value."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from jobs.conf import JobsSettings, jobs_settings


def test_a_missing_setting_takes_its_documented_default(settings):
    del settings.JOBS_WS_POLL_INTERVAL  # not in the settings module: the default applies
    assert jobs_settings().ws_poll_interval == JobsSettings.ws_poll_interval


def test_an_override_is_seen_at_once(settings):
    settings.JOBS_POISON_THRESHOLD = 7
    assert jobs_settings().poison_threshold == 7


@pytest.mark.parametrize(
    "name, value",
    [
        ("JOBS_POISON_THRESHOLD", "3"),
        ("JOBS_HEARTBEAT_TIMEOUT", "soon"),
        ("JOBS_QUEUES", "default"),
        ("JOBS_DISPATCHER_IN_WORKER", "yes"),
    ],
)
def test_a_value_of_the_wrong_type_stops_with_the_setting_named(settings, name, value):
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        jobs_settings()
