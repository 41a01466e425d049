"""Redis from REDIS_URL, or from REDIS_HOST / REDIS_PORT / REDIS_PASSWORD / REDIS_DB when
REDIS_URL is not set (the source documents' variables)."""

import os
import subprocess
import sys

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from config.settings.redis import DEFAULT_REDIS_URL, redis_url


def test_redis_url_wins_over_the_parts():
    assert redis_url({"REDIS_URL": "redis://a:1/2", "REDIS_HOST": "b"}) == "redis://a:1/2"


def test_the_parts_make_the_url_with_the_password_quoted():
    env = {
        "REDIS_HOST": "redis",
        "REDIS_PORT": "6380",
        "REDIS_PASSWORD": "p@ss/w:rd",
        "REDIS_DB": "3",
    }
    assert redis_url(env) == "redis://:p%40ss%2Fw%3Ard@redis:6380/3"
    assert redis_url({"REDIS_DB": "2"}) == "redis://127.0.0.1:6379/2"
    assert redis_url({"REDIS_HOST": "::1"}) == "redis://[::1]:6379/0"
    assert redis_url({}) == DEFAULT_REDIS_URL


@pytest.mark.parametrize(
    "env",
    [{"REDIS_PORT": "abc"}, {"REDIS_PORT": "70000"}, {"REDIS_DB": "-1"}, {"REDIS_HOST": "a/b"}],
)
def test_a_bad_part_stops_the_start_naming_it(env):
    with pytest.raises(ImproperlyConfigured, match=next(iter(env))):
        redis_url(env)


def test_settings_read_the_parts_when_redis_url_is_unset():
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    env.update(
        DATABASE_URL="postgres://u:p@localhost/db",
        REDIS_HOST="cache.internal",
        REDIS_PASSWORD="s3cret",
        REDIS_DB="4",
    )
    code = (
        "from config.settings import base as s; "
        "print(s.REDIS_URL, s.CELERY_BROKER_URL, s.CACHES['default']['LOCATION'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["redis://:s3cret@cache.internal:6379/4"] * 3


def test_a_url_built_from_the_parts_reaches_a_real_redis(settings):
    # The suite's own Redis (REDIS_URL), addressed through its parts.
    parsed = redis.Redis.from_url(settings.REDIS_URL).connection_pool.connection_kwargs
    url = redis_url(
        {
            "REDIS_HOST": parsed.get("host", "127.0.0.1"),
            "REDIS_PORT": str(parsed.get("port", 6379)),
            "REDIS_PASSWORD": parsed.get("password") or "",
            "REDIS_DB": str(parsed.get("db", 0)),
        }
    )
    client = redis.Redis.from_url(url)
    client.set("redis-settings-probe", "1")
    assert redis.Redis.from_url(settings.REDIS_URL).get("redis-settings-probe") == b"1"
    client.delete("redis-settings-probe")
