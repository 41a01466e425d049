#!/usr/bin/env bash
# Runs the whole suite on PostgreSQL with real Redis and real Celery workers.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

if [ -z "${DATABASE_URL:-}" ]; then ensure_postgres; fi
ensure_system_redis "${REDIS_URL:-redis://127.0.0.1:6379/15}"
ensure_test_packages
exec .venv/bin/pytest "$@"
