"""The chaos loop: seeded faults against a running ``Stack``, each logged with timestamps.

Faults: SIGKILL a worker (main and pool processes) and restart it; SIGKILL beat and restart
it; restart Redis empty; restart PostgreSQL (``pg_ctl restart -m fast``, or stop, wait,
start); SIGSTOP a worker past the heartbeat timeout, then SIGCONT. Each fault runs in a thread
of its own, so several overlap; a process is the target of one fault at a time.

The log (``ChaosLog``) is a JSON line per event. The audit reads it back: the outage windows
of PostgreSQL and Redis (when HTTP 503s are expected) and the worker processes that were
killed or frozen (which explain a non-atomic task's duplicate effect).
"""

import json
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

from chaos.stack import Proc, Stack, descendants


class ChaosLog:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def event(self, fault: str, phase: str, **detail: Any) -> None:
        entry = {"t": time.time(), "fault": fault, "phase": phase, **detail}
        with self._lock:
            self.events.append(entry)
            with open(self.path, "a") as out:
                out.write(json.dumps(entry) + "\n")
        stamp = time.strftime("%H:%M:%S", time.localtime(entry["t"]))
        extra = " ".join(f"{k}={v}" for k, v in detail.items())
        print(f"[chaos {stamp}.{int(entry['t'] % 1 * 1000):03d}] {fault} {phase} {extra}")


class ChaosLoop:
    """Starts a seeded fault every few seconds until ``stop()``; ``join()`` waits for the
    faults in flight to end (every process restarted, every service back)."""

    def __init__(
        self,
        stack: Stack,
        log: ChaosLog,
        seed: int,
        *,
        mean_interval: float = 8.0,
        heartbeat_timeout: float = 6.0,
    ):
        self.stack = stack
        self.log = log
        self.rng = random.Random(seed)
        self.mean_interval = mean_interval
        self.heartbeat_timeout = heartbeat_timeout
        self._stop = threading.Event()
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.counts: dict[str, int] = {}

    # --- targets ------------------------------------------------------------------------------
    def _take(self, name: str) -> bool:
        with self._busy_lock:
            if name in self._busy:
                return False
            self._busy.add(name)
            return True

    def _release(self, name: str) -> None:
        with self._busy_lock:
            self._busy.discard(name)

    def _pids(self, proc: Proc) -> dict[str, Any]:
        return {"pid": proc.pid, "children": descendants(proc.pid)}

    # --- faults -------------------------------------------------------------------------------
    def kill_worker(self, worker: Proc) -> None:
        self.log.event("kill_worker", "sigkill", target=worker.name, **self._pids(worker))
        worker.kill()
        time.sleep(self.rng.uniform(0.5, 3))
        worker.start()
        self.log.event("kill_worker", "restarted", target=worker.name, pid=worker.pid)

    def kill_beat(self, beat: Proc) -> None:
        self.log.event("kill_beat", "sigkill", target="beat", pid=beat.pid)
        beat.kill()
        time.sleep(self.rng.uniform(0.5, 5))
        beat.start()
        self.log.event("kill_beat", "restarted", target="beat", pid=beat.pid)

    def freeze_worker(self, worker: Proc) -> None:
        seconds = self.heartbeat_timeout + self.rng.uniform(3, 8)
        self.log.event(
            "freeze_worker",
            "sigstop",
            target=worker.name,
            seconds=round(seconds, 1),
            **self._pids(worker),
        )
        worker.signal_group(signal.SIGSTOP)
        time.sleep(seconds)
        worker.signal_group(signal.SIGCONT)
        self.log.event("freeze_worker", "sigcont", target=worker.name, pid=worker.pid)

    def restart_redis(self) -> None:
        down = self.rng.uniform(0.5, 5)
        self.log.event("restart_redis", "down", seconds=round(down, 1))
        self.stack.redis.stop()
        time.sleep(down)
        self.stack.redis.start()
        self.log.event("restart_redis", "up")

    def restart_postgres(self) -> None:
        if self.rng.random() < 0.5:
            self.log.event("restart_postgres", "down", how="pg_ctl restart -m fast")
            self.stack.pg.restart()
        else:
            down = self.rng.uniform(1, 6)
            self.log.event("restart_postgres", "down", how="stop, start", seconds=round(down, 1))
            self.stack.pg.stop()
            time.sleep(down)
            self.stack.pg.start()
        self.log.event("restart_postgres", "up")

    # --- the loop -----------------------------------------------------------------------------
    def _spawn(self, name: str, target_name: str, fn, *args) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:  # a fault that failed is logged, never silent
                self.log.event(name, "error", error=repr(exc))
            finally:
                self._release(target_name)

        thread = threading.Thread(target=run, name=f"chaos-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def step(self) -> None:
        fault = self.rng.choices(
            ["kill_worker", "freeze_worker", "kill_beat", "restart_redis", "restart_postgres"],
            weights=[4, 2, 1, 2, 2],
        )[0]
        if fault in ("kill_worker", "freeze_worker"):
            worker = self.rng.choice(self.stack.workers)
            if self._take(worker.name):
                fn = self.kill_worker if fault == "kill_worker" else self.freeze_worker
                self._spawn(fault, worker.name, fn, worker)
        elif fault == "kill_beat":
            if self.stack.beat is not None and self._take("beat"):
                self._spawn(fault, "beat", self.kill_beat, self.stack.beat)
        elif fault == "restart_redis":
            if self._take("redis"):
                self._spawn(fault, "redis", self.restart_redis)
        elif self._take("postgres"):
            self._spawn(fault, "postgres", self.restart_postgres)

    def run(self, seconds: float) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline and not self._stop.is_set():
            self.step()
            self._stop.wait(min(self.rng.expovariate(1 / self.mean_interval), 20))

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()


class Supervisor:
    """Restarts a platform process that exited by itself, as a process manager would
    (docker's ``restart: unless-stopped``), and logs the exit: the soak reports it.
    Processes the chaos loop is killing at the moment are left alone."""

    def __init__(self, stack: Stack, log: ChaosLog, loop: ChaosLoop):
        self.stack = stack
        self.log = log
        self.loop = loop
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="chaos-supervisor", daemon=True)

    def start(self) -> "Supervisor":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self._stop.wait(1):
            for proc in self.stack.processes():
                if proc.alive() or not self.loop._take(proc.name):
                    continue
                try:
                    if proc.proc is not None and proc.proc.poll() is not None:
                        self.log.event(
                            "crashed",
                            "exited",
                            target=proc.name,
                            pid=proc.pid,
                            exit_code=proc.proc.returncode,
                            reason=last_error(proc),
                        )
                        proc.start()
                        self.log.event("crashed", "restarted", target=proc.name, pid=proc.pid)
                finally:
                    self.loop._release(proc.name)


def last_error(proc: Proc) -> str:
    """Why the process exited: Celery's "Unrecoverable error" line of its last run, else the
    last CRITICAL line, else the last line of its log."""
    text = proc.log_path.read_text(errors="replace")
    lines = text[text.rfind(f"===== {proc.name} start #{proc.incarnation} ") :].splitlines()
    for marker in ("Unrecoverable error", "CRITICAL"):
        for line in reversed(lines):
            if marker in line:
                return line[:300]
    return lines[-1][:300] if lines else ""
