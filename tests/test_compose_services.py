"""docker-compose.yml: Redis requires a password that every service's Redis URLs carry
(scripts/check_redis_auth.py, run by scripts/check-compose.sh), and the waitlist's
notification (concurrency 2) and cleanup (concurrency 1) pools run as services of their own."""

import sys
from pathlib import Path

import pytest
import redis
import yaml
from kombu import Connection

from config.settings.redis import redis_url
from tests.support.private_redis import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import check_queues  # noqa: E402
import check_redis_auth  # noqa: E402


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def example_env() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def resolved(config: dict) -> dict:
    """What `docker-compose config` gives: env_file values under each service's environment
    (the service's own environment wins)."""
    env = example_env()
    for spec in config["services"].values():
        if spec.get("env_file"):
            spec["environment"] = {**env, **(spec.get("environment") or {})}
    return config


def test_every_service_redis_url_carries_the_redis_password():
    config = resolved(compose())
    assert "--requirepass" in " ".join(config["services"]["redis"]["command"])
    assert check_redis_auth.problems(config) == []

    config["services"]["beat"]["environment"]["REDIS_URL"] = "redis://redis:6379/0"
    assert check_redis_auth.problems(config) == [
        "service 'beat': REDIS_URL does not carry REDIS_PASSWORD"
    ]


def test_waitlist_notifications_and_cleanup_have_worker_services_of_their_own():
    services = compose()["services"]
    pools = {}
    for name, spec in services.items():
        tokens = check_queues.command_tokens(spec.get("command"))
        if check_queues.is_celery_worker(tokens):
            pools[name] = (
                check_queues.queue_list(tokens),
                check_queues.option(tokens, "-c", "--concurrency"),
            )
    assert pools["worker-waitlist-notifications"] == (["waitlist.notifications"], "2")
    assert pools["worker-waitlist-cleanup"] == (["waitlist.cleanup"], "1")


@pytest.fixture
def redis_with_password(tmp_path):
    server = PrivateRedis(tmp_path / "redis", password="s3cret-pass").start()
    yield server
    server.stop()


def test_a_password_protected_redis_is_reached_through_the_redis_parts(redis_with_password):
    url = redis_url(
        {
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(redis_with_password.port),
            "REDIS_PASSWORD": "s3cret-pass",
            "REDIS_DB": "1",
        }
    )
    assert redis.Redis.from_url(url).ping()
    with Connection(url) as broker:  # Celery's broker connection (kombu) as well
        broker.ensure_connection(max_retries=1)
    without = f"redis://127.0.0.1:{redis_with_password.port}/1"
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(without).ping()
