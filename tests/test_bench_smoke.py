"""`make bench` keeps working: every scenario at a tiny size, correctness only (no timing)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.integration
def test_every_benchmark_scenario_runs_and_completes_every_job():
    env = {
        **os.environ,
        # Several runs may share a machine: each passes its own database and Redis db.
        "BENCH_DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/durable_jobs_bench_smoke"
        ),
        "BENCH_REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--output", ""],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    for section in (
        "1. Drain",
        "2. Enqueue",
        "3. Latency",
        "4. Delayed precision",
        "5. Sweepers",
        "6. Operator queries",
        "7a. Peers, drain",
        "8. A job's two ledger statements",
        "9. Peers at their best",
        "10. I/O-bound",
        "11. More workers",
        "12a. Cost as the work grows",
        "12b. Worker resident memory",
    ):
        assert section in result.stdout, output[-5000:]
    assert "Correctness failures" not in result.stdout
