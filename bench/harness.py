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
        try:
            # The process group is the fifth field of /proc/<pid>/stat, after "(comm)".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != leader:
                continue
            status = (entry / "status").read_text()
        except (OSError, ValueError, IndexError):
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
