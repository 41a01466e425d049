#!/usr/bin/env bash
# Shared helpers: make PostgreSQL and Redis reachable, starting local servers if needed.

redis_answers() {  # $1 = redis URL
  .venv/bin/python - "$1" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
}

ensure_system_redis() {  # the machine's Redis on 127.0.0.1:6379, started if installed
  local url=${1:-redis://127.0.0.1:6379/0}
  redis_answers "$url" && return 0
  if command -v redis-server >/dev/null; then
    echo "==> starting redis-server on 127.0.0.1:6379"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile /tmp/redis-6379.log
    for _ in $(seq 50); do redis_answers "$url" && return 0; sleep 0.1; done
  fi
  echo "error: Redis is not reachable at $url and redis-server is not installed." >&2
  echo "  fix 1: point REDIS_URL at a running Redis" >&2
  echo "  fix 2: install Redis (e.g. apt-get install redis-server)" >&2
  return 1
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "==> starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 0.2; done
  fi
  echo "error: PostgreSQL is not reachable on 127.0.0.1:5432." >&2
  echo "  fix 1: start PostgreSQL, or set DATABASE_URL to a reachable server" >&2
  echo "  fix 2: install it (apt-get install postgresql)" >&2
  return 1
}

ensure_test_packages() {  # Debian packages the suite drives for real, installed when missing:
  # chromium (the browser tests, tests/support/browser.py), poppler-utils and zbar-tools (the
  # tickets' QR codes, rendered with pdftoppm and read back with zbarimg).
  local missing=()
  command -v chromium >/dev/null || [ -n "${CHROMIUM:-}" ] || missing+=(chromium)
  command -v pdftoppm >/dev/null || missing+=(poppler-utils)
  command -v zbarimg >/dev/null || missing+=(zbar-tools)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing ${missing[*]} (Debian packages) for the browser and PDF tests"
    apt-get install -y -q "${missing[@]}" >/tmp/test-packages-install.log 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 \
           && apt-get install -y -q "${missing[@]}" >/tmp/test-packages-install.log 2>&1; } \
      || { echo "error: could not install ${missing[*]} (see /tmp/test-packages-install.log)" >&2; return 1; }
    return 0
  fi
  echo "error: the suite needs these Debian packages: ${missing[*]}" >&2
  echo "  fix 1: apt-get install ${missing[*]} (as root)" >&2
  echo "  fix 2: for Chromium elsewhere, set CHROMIUM=/path/to/chromium" >&2
  return 1
}
