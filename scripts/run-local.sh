#!/usr/bin/env bash
# Brings up web (ASGI), one worker for all queues, beat and Flower; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
mkdir -p var

# The local run's environment: settings module, ports, the URLs derived from the ports,
# Flower's credentials (scripts/local-env.sh; tests source it too).
source scripts/local-env.sh

# Redis: REDIS_URL if it answers; else a private redis-server under var/; else stop.
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
if ! redis_answers "$REDIS_URL"; then
  if command -v redis-server >/dev/null; then
    port=${PRIVATE_REDIS_PORT:-6391}
    echo "==> $REDIS_URL does not answer; starting a private redis-server on 127.0.0.1:$port (var/redis)"
    mkdir -p var/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$PWD/var/redis" \
      --appendonly yes --pidfile "$PWD/var/redis.pid" --logfile "$PWD/var/redis/redis.log"
    REDIS_URL="redis://127.0.0.1:$port/0"
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
  else
    echo "error: Redis does not answer at $REDIS_URL and redis-server is not installed." >&2
    echo "  fix 1: set REDIS_URL to a running Redis (e.g. REDIS_URL=redis://host:6379/0 make run)" >&2
    echo "  fix 2: install Redis so a private one can be started (apt-get install redis-server)" >&2
    exit 1
  fi
fi
export REDIS_URL

.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py sync_schedules
.venv/bin/python manage.py ensure_local_admin

cat <<TEXT

  Admin      http://127.0.0.1:$WEB_PORT/admin/
  API docs   http://127.0.0.1:$WEB_PORT/api/docs/
  Health     http://127.0.0.1:$WEB_PORT/healthz
  Flower     ${FLOWER_URL%/}/   (user $FLOWER_USER, $flower_password_shown)
  Redis      $(printf '%s' "$REDIS_URL" | sed -E 's#(://[^:/@]*:)[^/]+@#\1********@#')

  Ctrl-C stops web, worker, beat and Flower.

TEXT
exec .venv/bin/honcho -f Procfile start
