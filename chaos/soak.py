"""``make chaos``: a seeded chaos soak of the whole platform, then an audit.

    python -m chaos.soak --minutes 30 --seed 1

Starts a private PostgreSQL and Redis, web, workers and beat (``chaos.stack``); a Python
producer (``chaos.producer``) and an HTTP producer (``chaos.http_clients``) enqueue
continuously while the chaos loop (``chaos.faults``) kills, freezes and restarts things;
then the faults stop, the ledger settles (bounded), and ``chaos.audit`` prints its table,
writes it to ``var/chaos/last.json`` and exits 1 if a must-be-0 line is not 0.
"""

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from chaos import audit
from chaos.faults import ChaosLog, ChaosLoop, Supervisor
from chaos.stack import ROOT, Stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaos.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settle", type=float, default=120, help="bound of the settle period (s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--py-rate", type=float, default=4, help="Python transactions per second")
    parser.add_argument("--http-rate", type=float, default=8, help="HTTP requests per second")
    parser.add_argument("--http-clients", type=int, default=4)
    parser.add_argument("--mean-interval", type=float, default=8, help="mean s between faults")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "chaos" / "last.json")
    args = parser.parse_args(argv)

    workdir = ROOT / "var" / "chaos" / f"run-{time.strftime('%Y%m%d-%H%M%S')}-seed{args.seed}"
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"chaos soak: seed {args.seed}, {args.minutes} min; logs in {workdir}")
    stack = Stack(workdir, workers=args.workers)
    log = ChaosLog(workdir / "chaos.jsonl")
    try:
        stack.start()
        report = soak(stack, log, args, workdir)
    finally:
        stack.shutdown()
    text = audit.render(report)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    (workdir / "report.txt").write_text(text + "\n")
    print(f"written: {args.out}")
    return 1 if audit.failures(report) else 0


def soak(stack: Stack, log: ChaosLog, args, workdir: Path) -> dict:
    seconds = args.minutes * 60
    token = stack.token()
    producer_out = workdir / "producer.jsonl"
    http_out = workdir / "http.jsonl"
    env = stack.env()
    producers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chaos.producer",
                str(producer_out),
                str(seconds),
                str(args.seed),
                str(args.py_rate),
            ],
            cwd=ROOT,
            env=env,
            stdout=open(workdir / "logs" / "producer.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chaos.http_clients",
                str(http_out),
                stack.base_url,
                token,
                str(seconds),
                str(args.seed),
                str(args.http_clients),
                str(args.http_rate),
            ],
            cwd=ROOT,
            env=env,
            stdout=open(workdir / "logs" / "http.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        ),
    ]

    # Memory: each process's first reading after (re)start, and its last one.
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(2):
            for proc in stack.processes():
                proc.sample_rss()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    loop = ChaosLoop(stack, log, args.seed, mean_interval=args.mean_interval)
    supervisor = Supervisor(stack, log, loop).start()
    log.event("soak", "chaos_start")
    chaos_started = time.time()
    loop.run(seconds)
    loop.stop()
    loop.join()
    chaos_stopped = time.time()
    log.event("soak", "chaos_stop")
    for producer in producers:
        try:
            producer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            producer.kill()

    # Settle: every job of the soak finished, or the bound passes.
    settle_deadline = chaos_stopped + args.settle
    live = -1
    while time.time() < settle_deadline:
        try:
            live = audit.live_chaos_jobs(stack.pg.url)
        except Exception as exc:  # the database may still be coming back
            print(f"settle: {exc!r}")
        if live == 0:
            break
        time.sleep(1)
    settled = time.time()
    supervisor.stop()
    log.event("soak", "settled", live=live)
    for proc in stack.processes():
        proc.sample_rss()
    sampling.set()

    report = {
        "seed": args.seed,
        "chaos_seconds": chaos_stopped - chaos_started,
        "settle_seconds": settled - chaos_stopped,
        "settle_bound": args.settle,
        "faults": loop.counts,
        "workdir": str(workdir),
        "memory": {
            proc.name: {
                "start_kb": proc.rss_start or 0,
                "end_kb": proc.rss(),
                "restarts": proc.incarnation - 1,
                "uptime_s": round(time.time() - proc.started_at),
            }
            for proc in stack.processes()
        },
        "audit": audit.audit(
            db_url=stack.pg.url,
            producer_lines=audit.read_lines(producer_out),
            http_lines=audit.read_lines(http_out),
            chaos_events=log.events,
        ),
    }
    return report


if __name__ == "__main__":
    sys.exit(main())
