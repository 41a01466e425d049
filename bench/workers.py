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
    # Worker boots are most of a smoke run: there, only raw Celery's two instances (the
    # platform's drain runs in scenarios 10 and 12).
    configs = [CONFIGS[3]] if report.smoke else CONFIGS
    variants = {}
    for config in configs:
        if not report.smoke:
            variants[("platform", config)] = lambda c=config: (*drains.platform(n, c), n)
        variants[("raw", config)] = lambda c=config: drains.raw(n, c)
    results = drains.interleaved(
        variants, runs=runs, warmup=warmup, report=report, what="more workers"
    )
    first = configs[0]
    rows = []
    for config in configs:
        platform, raw = results.get(("platform", config)), results[("raw", config)]
        platform_first = results.get(("platform", first))
        rows.append(
            [
                config.label(),
                str(config.slots),
                f"{platform.median:,.0f}" if platform else "-",
                platform.spread() if platform else "-",
                f"{raw.median:,.0f}",
                raw.spread(),
                f"{platform.median / raw.median:.2f}x" if platform else "-",
                f"{platform.median / platform_first.median:.2f}x"
                if platform and platform_first
                else "-",
                f"{raw.median / results[('raw', first)].median:.2f}x",
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
