"""Scenario 11: more workers. The no-op drain with 1, 2 and 4 pool processes and with two
worker instances, platform and raw Celery side by side, so that the curve shows where the
ledger rather than the CPU becomes the limit.

On this machine PostgreSQL, Redis, the workers and this process share 2 cores: past 2 pool
processes every variant only shares the same CPU more ways, and what differs between the
platform's curve and raw Celery's is the ledger's share of that CPU and its commits.
"""

from bench import drains
from bench.drains import Config

CONFIGS = [
    Config("prefork", 1),
    Config("prefork", 2),
    Config("prefork", 4),
    Config("prefork", 2, instances=2),
]


def run_workers(report, *, sizes, runs: int, warmup: bool) -> None:
    n = sizes.drain
    # Worker boots are most of a smoke run: there, only the platform's two instances (raw
    # Celery's drain is covered by scenario 10).
    configs = [CONFIGS[3]] if report.smoke else CONFIGS
    variants = {}
    for config in configs:
        variants[("platform", config)] = lambda c=config: (*drains.platform(n, c), n)
        if not report.smoke:
            variants[("raw", config)] = lambda c=config: drains.raw(n, c)
    results = drains.interleaved(
        variants, runs=runs, warmup=warmup, report=report, what="more workers"
    )
    first = configs[0]
    rows = []
    for config in configs:
        platform, raw = results[("platform", config)], results.get(("raw", config))
        raw_first = results.get(("raw", first))
        rows.append(
            [
                config.label(),
                str(config.slots),
                f"{platform.median:,.0f}",
                platform.spread(),
                f"{raw.median:,.0f}" if raw else "-",
                raw.spread() if raw else "-",
                f"{platform.median / raw.median:.2f}x" if raw else "-",
                f"{platform.median / results[('platform', first)].median:.2f}x",
                f"{raw.median / raw_first.median:.2f}x" if raw and raw_first else "-",
            ]
        )
    report.add_section(
        f"11. More workers: {n:,} pre-enqueued no-op jobs, 1 to 4 pool processes",
        [
            "workers",
            "pool processes",
            "platform jobs/s",
            "spread",
            "raw Celery jobs/s",
            "spread",
            "platform vs raw",
            f"platform vs {first.label()}",
            f"raw vs {first.label()}",
        ],
        rows,
        [
            "Raw Celery with the platform's reliability settings (late ack, prefetch 1). "
            "PostgreSQL and Redis run on the same 2 cores as the workers (see the analysis)."
        ],
    )
