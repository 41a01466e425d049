"""A short chaos soak (``make chaos``, chaos/soak.py) with a fixed seed, held to its audit.

About 2 minutes of seeded faults — SIGKILLed and frozen workers, a killed beat, Redis
restarted empty, PostgreSQL restarted — against a private PostgreSQL cluster and Redis,
while a Python producer and an HTTP producer enqueue; then every must-be-0 line of the
audit, HTTP 5xx answers included (only a 503 for a PostgreSQL outage is allowed).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.audit import MUST_BE_ZERO

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.slow]


@pytest.mark.timeout(330)
def test_two_minutes_of_chaos_lose_no_job_run_no_rolled_back_one_and_repeat_no_atomic_effect(
    tmp_path,
):
    out = tmp_path / "chaos.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaos.soak",
            "--minutes",
            "2",
            "--seed",
            "7",
            "--settle",
            "60",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=320,
    )
    print(done.stdout[-6000:], done.stderr[-3000:])
    report = json.loads(out.read_text())
    audit = report["audit"]

    assert audit["accepted"] > 100, "the producers enqueued (almost) nothing"
    assert sum(report["faults"].values()) >= 5, "the chaos loop injected (almost) no fault"
    enforced = {key: audit[key] for key in MUST_BE_ZERO}
    assert enforced == dict.fromkeys(enforced, 0), json.dumps(audit["details"], indent=1)[:8000]
