"""Process and counter plumbing for the benchmarks: workers, databases, statistics."""

import contextlib
import itertools
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench-logs"
_serial = itertools.count(1)


@dataclass
class Measurement:
    """Repeated runs of one variant; the report shows the median and the spread."""

    values: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    def add(self, value: float, **extra: float) -> None:
        self.values.append(value)
        for key, number in extra.items():
            self.extra.setdefault(key, []).append(number)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def spread(self) -> str:
        if len(self.values) < 2:
            return "-"
        low, high = min(self.values), max(self.values)
        return f"{low:,.1f}–{high:,.1f}" if high >= 10 else f"{low:.2f}–{high:.2f}"

    def extra_median(self, key: str) -> float:
        return statistics.median(self.extra[key]) if key in self.extra else float("nan")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


class Worker:
    """A celery worker subprocess; ready when it answers a control ping."""

    def __init__(
        self,
        app: str,
        name: str,
        queues: str,
        env: dict,
        concurrency: int = 2,
        extra: list[str] | None = None,
        pool: str = "prefork",
    ):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        # A unique node name: a control ping must reach this worker, not an earlier one. The
        # host part names the run's Redis database: runs on other databases leave it alone.
        self.name = f"{name}-{next(_serial)}@{node_host()}"
        self.log_path = LOG_DIR / f"{name}.log"
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "-n",
            self.name,
            "-Q",
            queues,
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *(extra or []),
        ]
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, control_app, timeout: float = 60) -> "Worker":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            if control_app.control.ping(destination=[self.name], timeout=0.5):
                return self
        raise TimeoutError(f"worker {self.name} not ready")

    def stop(self) -> None:
        """Warm shutdown, then make sure nothing of the process group is left consuming."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        reap_process_group(self.proc)
        self._log.close()


def process_group_rss(leader: int) -> list[int]:
    """Resident memory (bytes) of every process in a worker's process group, from /proc."""
    sizes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = proc_stat(entry.name)
        # The process group is the third field after "(comm)".
        if stat is None or int(stat[1][2]) != leader:
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) * 1024)
    return sizes


def reap_process_group(proc: subprocess.Popen) -> None:
    """After a warm-shutdown signal: give the process 30 s, then kill its whole group."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def node_host() -> str:
    """The host part of the benchmark's worker node names: "bench-" and the Redis database."""
    return "bench-" + os.environ.get("BENCH_REDIS_URL", "").rstrip("/").rsplit("/", 1)[-1]


def kill_leftover_workers() -> None:
    """Workers of an interrupted earlier run would steal this run's jobs.

    Only those of a run on the same Redis database (BENCH_REDIS_URL in their environment):
    other benchmark runs on the machine, each on its own database, keep their workers.
    """
    ours = f"BENCH_REDIS_URL={os.environ.get('BENCH_REDIS_URL', '')}".encode()
    # The peers' workers (bench/peers.py) and their children carry this in their environment.
    peer_marker = f"BENCH_PEER_WORKER={os.environ.get('BENCH_REDIS_URL', '')}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        celery_worker = any(b"@bench" in arg for arg in cmdline)
        if peer_marker in environ or (ours in environ and celery_worker):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


CPU_KINDS = ("worker main", "pool processes", "PostgreSQL", "Redis")


def proc_stat(pid: str | int) -> tuple[str, list[str]] | None:
    """(comm, the fields after it) of /proc/<pid>/stat; None if the process is gone.
    After comm: [0] state, [1] ppid, [2] pgrp, ... [11] utime, [12] stime, [13] cutime,
    [14] cstime (proc(5)), times in clock ticks."""
    try:
        text = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    head, _, rest = text.rpartition(")")
    return head.partition("(")[2], rest.split()


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    stat = proc_stat(pid)
    if stat is None:
        raise ProcessLookupError(pid)
    return (int(stat[1][11]) + int(stat[1][12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(worker: "Worker") -> dict[str, float]:
    """CPU seconds (user + system) used so far by a worker's main process, its pool
    processes, the PostgreSQL server and Redis, from /proc. Differences over a drain, per
    job, say where its CPU goes on a machine whose cores all of them share.

    PostgreSQL counts every server process, and the postmaster's reaped children (a
    backend whose connection closed during the drain) through its children's times; other
    databases' work on the same server counts too, so the benchmark runs alone."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {
        int(entry.name): stat
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (stat := proc_stat(entry.name)) is not None
    }
    totals = dict.fromkeys(CPU_KINDS, 0.0)
    leader = worker.proc.pid
    for pid, (comm, fields) in stats.items():
        own = int(fields[11]) + int(fields[12])
        reaped = int(fields[13]) + int(fields[14])
        if pid == leader:
            totals["worker main"] += own / tick
            totals["pool processes"] += reaped / tick  # pool processes replaced meanwhile
        elif int(fields[2]) == leader:
            totals["pool processes"] += own / tick
        elif comm == "postgres":
            parent = stats.get(int(fields[1]))
            postmaster = parent is None or parent[0] != "postgres"
            totals["PostgreSQL"] += (own + (reaped if postmaster else 0)) / tick
        elif comm == "redis-server":
            totals["Redis"] += own / tick
    return totals


def cpu_per_job(before: dict[str, float], after: dict[str, float], jobs: int) -> dict[str, float]:
    """Microseconds of CPU per job for each kind, keyed "cpu <kind>" (Measurement extras)."""
    return {f"cpu {kind}": (after[kind] - before[kind]) / jobs * 1e6 for kind in CPU_KINDS}


def redis_command_count(client) -> int:
    stats = client.info("commandstats")
    return sum(entry["calls"] for entry in stats.values())


def pg_counters(connection) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_fetched "
            "FROM pg_stat_database WHERE datname = current_database()"
        )
        row = cursor.fetchone()
    return dict(zip(("transactions", "inserted", "updated", "fetched"), row, strict=True))


def pg_counters_settled(connection) -> dict[str, int]:
    """pg_stat_database is updated by backends lazily; give it a moment to flush."""
    time.sleep(1.2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
    return pg_counters(connection)


def machine_description() -> dict[str, str]:
    import platform

    import celery
    import django
    import redis as redis_py

    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "django": django.get_version(),
        "celery": celery.__version__,
        "redis-py": redis_py.__version__,
    }
