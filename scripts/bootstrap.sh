#!/usr/bin/env bash
# Creates .venv with the locked dependencies (uv, installed into .tools from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "error: Python 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .tools/bin/uv ]; then
  echo "==> installing uv into .tools"
  "$PYTHON" -m venv .tools
  .tools/bin/pip install --quiet "uv==0.13.8"
fi
stamp=.venv/.synced
if [ ! -f "$stamp" ] || [ uv.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing locked dependencies into .venv"
  .tools/bin/uv sync --frozen --python "$PYTHON" --quiet
  touch "$stamp"
fi
