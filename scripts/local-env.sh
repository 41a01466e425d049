# The environment of a local run (sourced by scripts/run-local.sh, and by the tests that
# check it): which settings, which ports, and the URLs that follow from the ports.
# shellcheck shell=bash

# Named here on purpose: an entry point that finds no settings module uses the production
# settings, which refuse to start without a real SECRET_KEY. The local settings relax what
# only makes sense on this machine (DEBUG, SQLite, admin/admin logins on 127.0.0.1) and make
# a random SECRET_KEY once per install, in var/secret_key.
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.local}
export WEB_PORT=${PORT:-8000}
export FLOWER_PORT=${FLOWER_PORT:-5555}
# Links in waitlist emails and the admin's Flower links follow the ports chosen above
# (config/settings/local.py derives the same defaults); an explicit value wins.
export WAITLIST_PUBLIC_BASE_URL=${WAITLIST_PUBLIC_BASE_URL:-http://127.0.0.1:$WEB_PORT}
export FLOWER_URL=${FLOWER_URL:-http://127.0.0.1:$FLOWER_PORT}
# Flower's basic auth (read by config/flowerconfig.py, never put on its command line).
flower_password_shown="password ${FLOWER_PASSWORD:-admin}"
[ -n "${FLOWER_PASSWORD:-}" ] && flower_password_shown="password from FLOWER_PASSWORD"
export FLOWER_USER=${FLOWER_USER:-admin}
export FLOWER_PASSWORD=${FLOWER_PASSWORD:-admin}
# Flower keeps its history here across restarts (--persistent).
export FLOWER_DB=${FLOWER_DB:-var/flower.db}
