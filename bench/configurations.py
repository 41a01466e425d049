"""Scenarios 9 and 10: every queue in its best configuration, and jobs that wait on I/O.

9. Peers at their best. Table 7a runs every peer like the platform (2 processes, one job
   at a time each). Here the same no-op drain also runs each one as its documentation sets
   it up by default and in the configuration that drains fastest on this machine, next to
   the platform and raw Celery with `-P threads -c 8`.
10. I/O-bound: every job sleeps 10-50 ms (the same seeded random durations for every
   variant), which stands for the common case of a job waiting on the network. Threads
   (Celery's `-P threads`, Dramatiq's threads, Procrastinate's concurrency) overlap the
   waits; a 2-process pool runs two at a time.

Peer drains use scenario 7's machinery (bench/peers.py: the clock starts when the first job
starts and stops when the peer's own bookkeeping counts all done); the platform's and raw
Celery's use bench/drains.py (the clock starts when the booted workers are told to consume).
"""

import random
import statistics

from bench import drains, peers
from bench.drains import Config
from bench.harness import Measurement

BEST_POOL = Config("threads", 8)


def _peer_variants(sizes_n: int, specs, waits=None) -> dict:
    """{label: run} for the peers that are installed; spec = (label, peer)."""
    variants = {}
    for label, peer in specs:
        if not peer.available():
            continue

        def run(peer=peer):
            rate, completed = peers._drain(peer, sizes_n, waits)
            return rate, completed, sizes_n

        variants[label] = (peer, run)
    return variants


def _run_all(report, variants: dict, *, runs: int, warmup: bool, what: str) -> dict:
    """Interleaved rounds; each peer's schema is set up once for the scenario."""
    peer_objects = [peer for peer, _ in variants.values() if peer is not None]
    for peer in peer_objects:
        peer.setup()
    try:
        return drains.interleaved(
            {name: run for name, (_, run) in variants.items()},
            runs=runs,
            warmup=warmup,
            report=report,
            what=what,
        )
    finally:
        for peer in peer_objects:
            peer.teardown()


def _ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}x" if reference else "-"


# --- 9. peers at their best --------------------------------------------------------------


def run_peers_best(report, *, sizes, runs: int, warmup: bool) -> None:
    n = sizes.drain
    # Like-for-like rows measured by scenarios 1 and 7a in the same run are shown from there
    # rather than measured again (each is minutes at the full size): (label, key, name).
    earlier = [
        ("platform, prefork -c 2 (like-for-like)", "drain", "platform (ledger)"),
        ("raw Celery, prefork -c 2", "drain", "raw Celery, same reliability"),
        ("RQ SimpleWorker, 2 processes (like-for-like and best)", "peers_drain", "RQ SimpleWorker"),
        ("Dramatiq, 2 processes × 1 thread (like-for-like)", "peers_drain", "Dramatiq"),
        (
            "Procrastinate, 2 processes × concurrency 1 (like-for-like)",
            "peers_drain",
            "Procrastinate",
        ),
    ]
    ours = {
        "platform, prefork -c 2 (like-for-like)": Config("prefork", 2),
        "platform, threads -c 8 (best)": BEST_POOL,
        "raw Celery, prefork -c 2": Config("prefork", 2),
        "raw Celery, threads -c 8": BEST_POOL,
    }
    specs = [
        (
            "RQ SimpleWorker, 2 processes (like-for-like and best)",
            peers.RQ("rq.worker.SimpleWorker", "RQ SimpleWorker", ""),
        ),
        ("Dramatiq, 2 processes × 1 thread (like-for-like)", peers.Dramatiq(2, 1)),
        ("Dramatiq, 2 processes × 8 threads (default)", peers.Dramatiq(2, 8)),
        ("Procrastinate, 2 processes × concurrency 1 (like-for-like)", peers.Procrastinate(2, 1)),
        ("Procrastinate, 1 process × concurrency 1 (default)", peers.Procrastinate(1, 1)),
        ("Procrastinate, 1 process × concurrency 2", peers.Procrastinate(1, 2)),
        ("Procrastinate, 2 processes × concurrency 2", peers.Procrastinate(2, 2)),
    ]
    if report.smoke:
        # Worker boots are most of a smoke run: only the rows of scenarios 1 and 7a (which
        # the smoke run has), and scenario 10 runs the other configurations' code.
        ours, specs = {}, []
    reused = {}
    for label, key, name in earlier:
        value = report.results.get(key, {}).get(name)
        if value:
            reused[label] = Measurement([value])
            ours.pop(label, None)
            specs = [(spec_label, peer) for spec_label, peer in specs if spec_label != label]
    variants = {}
    for label, config in ours.items():
        if label.startswith("platform"):
            variants[label] = (None, lambda c=config: (*drains.platform(n, c), n))
        else:
            variants[label] = (None, lambda c=config: drains.raw(n, c))
    variants.update(_peer_variants(n, specs))
    measured = _run_all(report, variants, runs=runs, warmup=warmup, what="peers at their best")
    sources = {label: "1." if key == "drain" else "7a." for label, key, _ in earlier}
    results = {}
    for label in dict.fromkeys(
        [label for label, _, _ in earlier] + list(ours) + [s for s, _ in specs]
    ):
        if label in reused:
            results[f"{label}, from {sources[label]}"] = reused[label]
        elif label in measured:
            results[label] = measured[label]
    like = next((m for k, m in results.items() if k.startswith("platform, prefork")), None)
    best = results.get("platform, threads -c 8 (best)")
    rows = [
        [
            name,
            f"{m.median:,.0f}",
            m.spread(),
            _ratio(m.median, like and like.median),
            _ratio(m.median, best and best.median),
        ]
        for name, m in results.items()
    ]
    report.add_section(
        f"9. Peers at their best: {n:,} pre-enqueued no-op jobs, like-for-like and in each "
        "one's default or best configuration",
        [
            "variant",
            "jobs/s (median)",
            "spread",
            "vs platform prefork -c 2",
            "vs platform threads -c 8",
        ],
        rows,
        [
            "Same run, interleaved. Like-for-like: 2 processes, one job at a time each (as in "
            "7a). Default: the peer's own out-of-the-box worker (Dramatiq: one process per "
            "core × 8 threads; Procrastinate: one process, concurrency 1). Best: the "
            "configuration that drains fastest here. RQ runs one job at a time per process "
            "and has no threaded worker; its default (fork per job) is in 7a. Platform and "
            "raw Celery: the clock starts when the booted workers are told to consume; peers: "
            "when their first job starts (7a)."
        ],
    )


# --- 10. I/O-bound -----------------------------------------------------------------------


def waits_ms(n: int, seed: int = 10) -> list[float]:
    """The same random-but-seeded waits for every variant."""
    rng = random.Random(seed)
    return [round(rng.uniform(10, 50), 1) for _ in range(n)]


def run_io_bound(report, *, sizes, runs: int, warmup: bool) -> None:
    n = sizes.io_jobs
    waits = waits_ms(n)
    mean_s = statistics.mean(waits) / 1000
    configs = [Config("prefork", 2), Config("threads", 8), Config("threads", 16)]
    specs = [
        ("RQ SimpleWorker, 2 processes", peers.RQ("rq.worker.SimpleWorker", "RQ", ""), 2),
        ("Dramatiq, 1 process × 8 threads", peers.Dramatiq(1, 8), 8),
        ("Dramatiq, 2 processes × 8 threads (default)", peers.Dramatiq(2, 8), 16),
        ("Procrastinate, 1 process × concurrency 8", peers.Procrastinate(1, 8), 8),
        ("Procrastinate, 1 process × concurrency 16", peers.Procrastinate(1, 16), 16),
    ]
    if report.smoke:  # worker boots are most of a smoke run: the platform and one peer
        configs = [Config("threads", 8)]
        specs = [specs[3]]
    variants, slots = {}, {}
    for config in configs:
        label = f"platform, {config.label()}"
        variants[label] = (None, lambda c=config: (*drains.platform(n, c, waits=waits), n))
        slots[label] = config.slots
    for config in [] if report.smoke else configs:  # scenario 11's smoke run drains raw
        label = f"raw Celery, {config.label()}"
        variants[label] = (None, lambda c=config: drains.raw(n, c, waits=waits))
        slots[label] = config.slots
    peer_variants = _peer_variants(n, [(label, peer) for label, peer, _ in specs], waits)
    variants.update(peer_variants)
    slots.update({label: k for label, _, k in specs})
    results = _run_all(report, variants, runs=runs, warmup=warmup, what="I/O-bound")

    rows = []
    for name, m in results.items():
        ideal = slots[name] / mean_s
        raw = next(
            (
                r
                for label, r in results.items()
                if label.startswith("raw Celery")
                and name.startswith("platform")
                and label.split(", ", 1)[1] == name.split(", ", 1)[1]
            ),
            None,
        )
        rows.append(
            [
                name,
                str(slots[name]),
                f"{ideal:,.0f}",
                f"{m.median:,.0f}",
                m.spread(),
                f"{m.median / ideal:.0%}",
                _ratio(m.median, raw and raw.median),
            ]
        )
    report.add_section(
        f"10. I/O-bound: {n:,} pre-enqueued jobs that each wait 10–50 ms "
        f"(mean {mean_s * 1000:.1f} ms)",
        [
            "variant",
            "jobs at once",
            "ideal jobs/s",
            "jobs/s (median)",
            "spread",
            "of ideal",
            "vs raw Celery same pool",
        ],
        rows,
        [
            "Each job sleeps a random but seeded 10–50 ms (`time.sleep`, standing for a "
            "network call); every variant gets the same durations. Ideal: jobs at once ÷ the "
            "mean wait, what the pool would reach if running a job cost nothing but its wait. "
            "Platform: each thread keeps its own database connection; its two ledger "
            "statements per job run while the other threads wait."
        ],
    )
