"""Queues are declared once per app; the workers' -Q lists are checked against that, as CI
runs it (``scripts/check_queues.py``), and each kind of drift is named."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from config.queues import EXAMPLE_QUEUES, QUEUES
from config.settings import test as test_settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import check_queues  # noqa: E402


def test_the_repository_as_committed_passes():
    result = subprocess.run(
        [sys.executable, "scripts/check_queues.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert f"serve the {len(QUEUES)} declared queues" in result.stdout


def test_jobs_queues_is_the_declared_list():
    # The test settings install the examples app, and with it its queues, after production's.
    assert list(test_settings.JOBS_QUEUES) == [q.name for q in (*QUEUES, *EXAMPLE_QUEUES)]


def _procfile_worker(queues: list[str]) -> str:
    return f"worker: .venv/bin/celery -A config worker -Q {','.join(queues)}\n"


def test_procfile_drift_is_named():
    in_order = [q.name for q in sorted(QUEUES, key=lambda q: q.local_rank)]
    assert check_queues.check_procfile(_procfile_worker(in_order), QUEUES, "Procfile") == []

    missing = check_queues.check_procfile(_procfile_worker(in_order[1:]), QUEUES, "Procfile")
    assert any(repr(in_order[0]) in p and "served by no worker" in p for p in missing)

    unknown = check_queues.check_procfile(
        _procfile_worker([*in_order, "ghost"]), QUEUES, "Procfile"
    )
    assert any("'ghost'" in p and "no app declares" in p for p in unknown)

    swapped = [in_order[1], in_order[0], *in_order[2:]]
    order = check_queues.check_procfile(_procfile_worker(swapped), QUEUES, "Procfile")
    assert any("priority order" in p for p in order)


def test_compose_drift_is_named():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert check_queues.check_compose(compose, QUEUES, "docker-compose.yml") == []
    service = next(s for s in compose["services"] if s.startswith("worker-"))
    command = compose["services"][service]["command"]
    text = command if isinstance(command, str) else " ".join(command)
    compose["services"][service]["command"] = re.sub(r"(-c|--concurrency)[ =]\S+", "-c 99", text)
    problems = check_queues.check_compose(compose, QUEUES, "docker-compose.yml")
    assert any("-c 99" in p and "declares concurrency" in p for p in problems), problems
