#!/usr/bin/env bash
# make worker-dev: a Celery worker that restarts whenever a Python file of the project changes.
#
# Celery has no autoreload of its own (removed in 4.0); watchfiles (installed with
# uvicorn[standard]) runs the worker, watches config/, jobs/, waitlist/, tickets/ and examples/, and on a
# change stops it with SIGINT (Celery's warm shutdown: running tasks finish, up to
# CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT) before starting it again. The worker serves the
# Procfile worker's -Q list (every declared queue, in priority order; checked by
# scripts/check_queues.py) with the local settings, against the database and Redis that
# `make run` uses (REDIS_URL, or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD/REDIS_DB).
# WORKER_DEV_CONCURRENCY (default 2) sets -c.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.local}
queues=$(sed -n 's/^worker:.* -Q \([^ ]*\).*$/\1/p' Procfile)
if [ -z "$queues" ]; then
  echo "error: no -Q list on the Procfile's worker line" >&2
  exit 1
fi
# The examples app is installed by the local settings: its queues come last.
example_queues=$(sed -n 's/^worker-examples:.* -Q \([^ ]*\).*$/\1/p' Procfile)
[ -n "$example_queues" ] && queues="$queues,$example_queues"
echo "==> worker-dev: restarts on changes under config/ jobs/ waitlist/ tickets/ examples/ (Ctrl-C stops)"
exec .venv/bin/watchfiles --filter python --sigint-timeout 40 \
  ".venv/bin/celery -A config worker -E -l info -c ${WORKER_DEV_CONCURRENCY:-2} -n dev@%h -Q $queues" \
  config jobs waitlist tickets examples
