"""Run every benchmark scenario in one go, print a table and write BENCHMARKS.md.

    make bench                       # full run (about 28 minutes on 2 cores for 1-8 and
                                     # the budget, 13 of them the peers, and an hour more
                                     # for 9-12: best configurations, I/O-bound jobs, more
                                     # workers, a 10M-row ledger)
    make bench ARGS="--smoke"        # tiny N, correctness only (CI runs this); or make bench-smoke
    make bench ARGS="--only drain,latency --runs 5"

Ratios in the table are measured side by side in the same run; absolute rates are context.
"""

import argparse
import os
import random
import signal
import sys
import time
from datetime import UTC, datetime

BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/durable_jobs_bench"
)
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.local",
    DATABASE_URL=BENCH_DB,
    REDIS_URL=BENCH_REDIS,
    BENCH_REDIS_URL=BENCH_REDIS,
    DEBUG="false",
    SECRET_KEY="benchmark-only-secret-key",
    CELERY_WORKER_SEND_TASK_EVENTS="false",
    LOG_LEVEL="WARNING",
)

from bench import budget, harness, scenarios  # noqa: E402
from bench.report import Report  # noqa: E402

SCENARIOS = [
    "drain",
    "enqueue",
    "latency",
    "delayed",
    "sweepers",
    "operator",
    "peers",
    "statements",
    "budget",
    "peers_best",
    "io_bound",
    "workers",
    "growth",
]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, one run: checks the benchmarks still work"
    )
    parser.add_argument(
        "--medium", action="store_true", help="a quarter of the full sizes, for quick comparisons"
    )
    parser.add_argument("--runs", type=int, default=3, help="measured runs per variant")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument(
        "--output", default="BENCHMARKS.md", help="markdown file to write ('' to skip)"
    )
    args = parser.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"--only: unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    if args.runs < 1:
        parser.error("--runs: must be at least 1")
    # Always in the canonical order: the peers table takes its ratios from scenarios 1-3.
    args.scenarios = [s for s in SCENARIOS if s in only] or SCENARIOS
    return args


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    # A SIGTERM unwinds like Ctrl-C, so the scenarios' finally blocks stop their workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    harness.kill_leftover_workers()
    scenarios.prepare_database(BENCH_DB)
    if args.smoke:
        sizes = scenarios.Sizes.smoke()
    else:
        sizes = scenarios.Sizes.medium() if args.medium else scenarios.Sizes.full()
    runs = 1 if args.smoke else args.runs
    report = Report(
        machine=harness.machine_description(),
        sizes=sizes,
        runs=runs,
        smoke=args.smoke,
        started=datetime.now(UTC),
    )
    random.seed(7)
    for name in args.scenarios:
        started = time.monotonic()
        print(f"==> {name}", flush=True)
        run = getattr(scenarios, f"run_{name}", None) or getattr(budget, f"run_{name}")
        run(report, sizes=sizes, runs=runs, warmup=not args.smoke)
        print(f"    ({time.monotonic() - started:.0f} s)", flush=True)
    text = report.render()
    print(text)
    if args.output and not args.smoke:
        with open(args.output, "w") as handle:
            handle.write(report.document(text))
        print(f"written to {args.output}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
