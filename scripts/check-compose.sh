#!/usr/bin/env bash
# Validates docker-compose.yml with a compose parser (no Docker engine is needed for this),
# and checks that Procfile and the compose workers serve exactly the declared queues.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python scripts/check_queues.py
if ! command -v docker-compose >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing docker-compose (the parser only) from Debian's packages"
    (apt-get install -y -qq docker-compose >/dev/null 2>&1) || \
      (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq docker-compose >/dev/null)
  else
    echo "error: docker-compose is needed to validate docker-compose.yml" >&2
    exit 1
  fi
fi
# The compose file reads .env.production; validate against the documented example.
if [ ! -f .env.production ]; then
  cp .env.example .env.production
  trap 'rm -f .env.production' EXIT
fi
docker-compose -f docker-compose.yml config --quiet
echo "docker-compose.yml: valid"
# Redis requires REDIS_PASSWORD: every service's Redis URL must carry it.
docker-compose -f docker-compose.yml config | .venv/bin/python scripts/check_redis_auth.py
