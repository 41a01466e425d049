# The two commands: `make run` (the whole platform locally) and `make test` (the suite).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never

.PHONY: run worker-dev test lint check format bench bench-smoke chaos load install clean

install:
	@scripts/bootstrap.sh

run: install
	@scripts/run-local.sh

# A worker that restarts when a Python file changes (scripts/worker-dev.sh, with watchfiles).
worker-dev: install
	@scripts/worker-dev.sh

test: install
	@scripts/test.sh $(ARGS)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# Import directions between the layers and apps (import-linter contracts in pyproject.toml)
# and types over the platform (mypy with django-stubs).
check: install
	.venv/bin/lint-imports
	.venv/bin/mypy

format: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

# The benchmarks (bench/run.py), with the optional `peers` group (RQ, Dramatiq, Procrastinate)
# installed for scenario 7. A later plain `uv sync --frozen` (scripts/bootstrap.sh) removes it.
bench: install
	.tools/bin/uv sync --frozen --group dev --group peers --quiet
	.venv/bin/python -m bench.run $(ARGS)

bench-smoke:
	@$(MAKE) --no-print-directory bench ARGS="--smoke $(ARGS)"

# The chaos soak (chaos/soak.py): a private PostgreSQL and Redis, web, workers and beat under
# seeded faults, then an audit; e.g. make chaos ARGS="--minutes 30 --seed 1".
chaos: install
	.venv/bin/python -m chaos.soak $(ARGS)

# The load run (chaos/load.py): 64 API clients against the documented web command.
load: install
	.venv/bin/python -m chaos.load $(ARGS)

clean:
	rm -rf .venv .tools var/*.pid
