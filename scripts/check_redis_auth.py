"""Checks that every docker-compose service's Redis URLs carry the Redis password.

    docker-compose -f docker-compose.yml config | .venv/bin/python scripts/check_redis_auth.py

The redis service runs with ``--requirepass $REDIS_PASSWORD``; a service whose REDIS_URL or
CELERY_BROKER_URL lacks that password cannot reach the broker. Run by
scripts/check-compose.sh on the resolved configuration (env_file values included).
"""

import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

URL_VARIABLES = ("REDIS_URL", "CELERY_BROKER_URL")


def env_file(path: str) -> dict[str, str]:
    lines = Path(path).read_text().splitlines()
    return dict(
        line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#")
    )


def environment(spec: dict) -> dict[str, str]:
    """The service's environment: its env_file values (when the parser left them unmerged)
    under its own ``environment``."""
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env if "=" in item)
    files = spec.get("env_file") or []
    merged: dict[str, str] = {}
    for entry in [files] if isinstance(files, str) else files:
        path = entry.get("path") if isinstance(entry, dict) else entry
        if path and Path(path).is_file():
            merged.update(env_file(path))
    merged.update({key: "" if value is None else str(value) for key, value in env.items()})
    return merged


def problems(config: dict) -> list[str]:
    services = config.get("services") or {}
    password = environment(services.get("redis") or {}).get("REDIS_PASSWORD", "")
    if not password:
        return ["service 'redis': REDIS_PASSWORD is not set (requirepass needs it)"]
    found = []
    for name, spec in services.items():
        env = environment(spec or {})
        for variable in URL_VARIABLES:
            url = env.get(variable)
            if not url or not url.startswith(("redis://", "rediss://")):
                continue
            if unquote(urlsplit(url).password or "") != password:
                found.append(f"service {name!r}: {variable} does not carry REDIS_PASSWORD")
    return found


def main() -> int:
    found = problems(yaml.safe_load(sys.stdin.read()))
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if found:
        return 1
    print("docker-compose.yml: every Redis URL carries the Redis password")
    return 0


if __name__ == "__main__":
    sys.exit(main())
