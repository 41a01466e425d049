"""``make load``: N concurrent API clients against the documented web command.

    python -m chaos.load --clients 64 --seconds 60

Starts the same private PostgreSQL, Redis, web (uvicorn ``config.asgi:application``, one
process unless ``--web-workers``/``WEB_CONCURRENCY`` says otherwise, as documented) and
Celery workers draining the queue (``chaos.stack``); then ``--clients`` clients enqueue
(``POST /api/jobs/``), read jobs (``GET /api/jobs/{id}``) and read the metrics
(``GET /api/jobs/metrics``) as fast as they are answered, for ``--seconds``. Prints, per
endpoint, the sustained requests/s, p50/p99 latency and counts by status, and the most
PostgreSQL connections seen (``pg_stat_activity``, polled once a second).
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

from chaos.http_clients import client_loop
from chaos.stack import ROOT, Stack


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos.load", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (2 processes each)")
    parser.add_argument(
        "--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "0")) or None
    )
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "chaos" / "load.json")
    args = parser.parse_args(argv)

    workdir = ROOT / "var" / "chaos" / f"load-{time.strftime('%Y%m%d-%H%M%S')}"
    stack = Stack(workdir, workers=args.workers, web_workers=args.web_workers)
    answers: list[dict[str, Any]] = []
    peak = {"connections": 0}
    polling = threading.Event()

    def poll() -> None:
        while not polling.wait(1):
            with contextlib.suppress(Exception):
                peak["connections"] = max(peak["connections"], stack.pg.connections())

    try:
        stack.start(beat=False)
        token = stack.token()
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        started = time.time()
        deadline = started + args.seconds
        known: list[str] = []

        async def run() -> None:
            await asyncio.gather(
                *(
                    client_loop(
                        base=stack.base_url,
                        token=token,
                        deadline=deadline,
                        rng=random.Random(i),
                        record=answers.append,
                        enqueue_body=lambda n: {"task": "jobs.noop"},
                        mix=(0.4, 0.4, 0.2),
                        pause=lambda: 0.0,
                        known_ids=known,
                    )
                    for i in range(args.clients)
                )
            )

        asyncio.run(run())
        elapsed = time.time() - started
        polling.set()
        poller.join()
    finally:
        stack.shutdown()

    report: dict[str, Any] = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "web_workers": args.web_workers or 1,
        "celery_workers": args.workers,
        "max_pg_connections": peak["connections"],
        "endpoints": {},
    }
    for endpoint in ("enqueue", "detail", "metrics"):
        mine = [a for a in answers if a["endpoint"] == endpoint]
        statuses: dict[str, int] = {}
        for a in mine:
            statuses[str(a["status"])] = statuses.get(str(a["status"]), 0) + 1
        ok = [a["ms"] for a in mine if 200 <= a["status"] < 300]
        report["endpoints"][endpoint] = {
            "requests": len(mine),
            "per_second": round(len(mine) / elapsed, 1),
            "ok_per_second": round(len(ok) / elapsed, 1),
            "p50_ms": round(percentile([a["ms"] for a in mine], 0.5), 1),
            "p99_ms": round(percentile([a["ms"] for a in mine], 0.99), 1),
            "by_status": dict(sorted(statuses.items())),
        }
    print(render(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.out}")
    return 0


def render(report: dict[str, Any]) -> str:
    lines = [
        f"load: {report['clients']} clients for {report['seconds']} s; web processes "
        f"{report['web_workers']}, Celery workers {report['celery_workers']} x 2 processes",
        "",
        f"{'endpoint':<26} {'req/s':>7} {'2xx/s':>7} {'p50 ms':>8} {'p99 ms':>8}  by status",
        "-" * 80,
    ]
    names = {
        "enqueue": "POST /api/jobs/",
        "detail": "GET /api/jobs/{id}",
        "metrics": "GET /api/jobs/metrics",
    }
    for key, e in report["endpoints"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in e["by_status"].items())
        lines.append(
            f"{names[key]:<26} {e['per_second']:>7} {e['ok_per_second']:>7} {e['p50_ms']:>8} "
            f"{e['p99_ms']:>8}  {statuses}"
        )
    lines += ["", f"max PostgreSQL connections seen: {report['max_pg_connections']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
