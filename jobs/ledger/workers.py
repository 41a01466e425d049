"""Worker processes as the ledger knows them: one heartbeat row per ``"host:pid"``.

The rescuer (``jobs.runtime.lifeline``), the probes, the metrics and the admin all ask
"which workers are alive?" here, with the one heartbeat timeout.
"""

import os
import socket
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from jobs.conf import jobs_settings
from jobs.ledger.models import WorkerProcess

# Set in the cache by a worker that shuts down cleanly (deploy, scale-down), so that its
# silence is not reported as "worker down".
STOPPED_WORKER_KEY = "jobs:worker-stopped:{name}"

_process_name: tuple[int, str] | None = None


def worker_name(hostname: str, pid: int | str) -> str:
    """The name a worker process goes by in the ledger (``Job.worker``, heartbeats)."""
    return f"{hostname}:{pid}"


def process_name() -> str:
    """This process's worker name (cached; made anew after a fork)."""
    global _process_name
    pid = os.getpid()
    if _process_name is None or _process_name[0] != pid:
        _process_name = (pid, worker_name(socket.gethostname(), pid))
    return _process_name[1]


def heartbeat_record(name: str, role: str) -> None:
    """Write this process's heartbeat (``role`` is "main" or "child")."""
    now = timezone.now()
    host, _, pid = name.rpartition(":")
    WorkerProcess.objects.update_or_create(
        name=name,
        defaults={"hostname": host, "pid": int(pid), "role": role, "last_seen": now},
        create_defaults={
            "hostname": host,
            "pid": int(pid),
            "role": role,
            "last_seen": now,
            "started_at": now,
        },
    )


def worker_describe(name: str, *, queues: list[str], pool: str) -> None:
    """Record what a main worker process consumes and its pool, once, when it is ready."""
    now = timezone.now()
    host, _, pid = name.rpartition(":")
    described = {"queues": ",".join(queues)[:1000], "pool": pool[:100]}
    WorkerProcess.objects.update_or_create(
        name=name,
        defaults=described,
        create_defaults={
            **described,
            "hostname": host,
            "pid": int(pid),
            "role": "main",
            "last_seen": now,
            "started_at": now,
        },
    )


def heartbeat_cutoff(now: datetime | None = None) -> datetime:
    """A process whose last heartbeat is older than this is presumed dead."""
    return (now or timezone.now()) - timedelta(seconds=jobs_settings().heartbeat_timeout)


def live_workers(*, role: str | None = None, now: datetime | None = None) -> QuerySet:
    """Worker processes with a recent heartbeat (of one role, if given)."""
    workers = WorkerProcess.objects.filter(last_seen__gte=heartbeat_cutoff(now))
    return workers if role is None else workers.filter(role=role)


def worker_stopped_cleanly(name: str) -> bool:
    return bool(cache.get(STOPPED_WORKER_KEY.format(name=name)))


def remember_clean_shutdown(name: str) -> None:
    cache.set(
        STOPPED_WORKER_KEY.format(name=name),
        True,
        jobs_settings().alert_worker_down_window + jobs_settings().heartbeat_timeout,
    )


def down_workers(now: datetime) -> list[WorkerProcess]:
    """Main processes whose heartbeats stopped recently without a clean shutdown."""
    window = timedelta(seconds=jobs_settings().alert_worker_down_window)
    silent = WorkerProcess.objects.filter(
        role="main", last_seen__lt=heartbeat_cutoff(now), last_seen__gte=now - window
    ).order_by("name")
    return [w for w in silent if not worker_stopped_cleanly(w.name)]
