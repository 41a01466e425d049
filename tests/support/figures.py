"""Figures the fault tests measure, kept for README's "Measured by the fault tests" table.

Each test writes its figures to var/test-logs/fault-figures.json (merged, newest wins) and
prints them; ``pytest -m faults -s`` shows them as they are measured.
"""

import json
import time
from pathlib import Path

FIGURES = Path(__file__).resolve().parents[2] / "var" / "test-logs" / "fault-figures.json"


def record_figures(test: str, **figures) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    try:
        known = json.loads(FIGURES.read_text())
    except (FileNotFoundError, ValueError):
        known = {}
    known[test] = {**figures, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    FIGURES.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    print(f"\n[figures] {test}: {figures}")
