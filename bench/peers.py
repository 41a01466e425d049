"""Scenario 7: the drain, enqueue and latency scenarios for RQ, Dramatiq and Procrastinate.

Each peer runs on the same Redis (db 9) or PostgreSQL database as the platform, in the same
run, with its own task module under bench/peers_apps/. A peer whose package is missing gets
a note row instead (`make bench` installs the `peers` dependency group).

How each one is measured:

- drain: N jobs pre-enqueued (the first one a `stamp` job that records when it starts, the
  other N-1 no-ops), then the peer's 2 worker processes are started. The clock starts when
  the stamp job starts (the first job run: a worker is booted and consuming) and stops when
  the peer's own bookkeeping says all N are done, polled every 20 ms (RQ's finished/failed
  registries, Dramatiq's queue size, Procrastinate's job statuses). Worker boot is excluded,
  except for any lag between the two processes finishing their boot.
- enqueue: N jobs from this process with the peer's normal per-job call, and its batch call
  where it has one (RQ `enqueue_many` in a pipeline, Procrastinate `batch_defer`); no worker.
- latency: the same 2 worker processes, idle; sequential `probe` jobs record time.time()
  minus the enqueue time into a Redis list that this process BLPOPs.
"""

import contextlib
import functools
import importlib.metadata
import importlib.util
import os
import signal
import subprocess
import sys
import time

from bench.harness import LOG_DIR, ROOT, Measurement, percentile, reap_process_group

# Set in every peer worker's environment (to the run's Redis URL): harness.kill_leftover_workers
# finds them by it.
PEER_MARK = "BENCH_PEER_WORKER"
POLL = 0.02
PROCESSES = 2


@functools.cache
def _redis():
    """One client for the whole scenario: polling must not open a connection each time."""
    import redis

    return redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])


def _env() -> dict:
    return {
        **os.environ,
        PEER_MARK: os.environ.get("BENCH_REDIS_URL", ""),
        "BENCH_DATABASE_URL": os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("DATABASE_URL", ""),
        "PYTHONPATH": str(ROOT),
    }


class PeerWorker:
    """One peer worker subprocess (its own session, so its children can be killed too)."""

    def __init__(self, name: str, args: list[str]):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOG_DIR / f"peer-{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self._terminated = False
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"peer worker {self.name} exited ({self.proc.returncode}): "
                f"{self.log_path.read_text()[-3000:]}"
            )

    def terminate(self) -> None:
        """Ask for a warm shutdown of the main process (it stops its own children), once."""
        if not self._terminated and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self._terminated = True

    def stop(self) -> None:
        """Warm shutdown, then kill whatever is left of the process group."""
        self.terminate()
        reap_process_group(self.proc)
        self._log.close()


def _stop_all(workers: list[PeerWorker]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.stop()


def _wait_for(condition, workers: list[PeerWorker], timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for worker in workers:
            worker.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"peers: timed out waiting for {what}")
        time.sleep(POLL)


# --- the peers --------------------------------------------------------------------------


class Peer:
    label = ""
    package = ""  # the distribution name, for the version and the "not installed" note
    package_label = ""
    module = ""  # what must be importable
    how = ""  # how its workers are run, for the notes
    batch_label = ""  # the batch enqueue variant's label, if the peer has one
    # Part of the drain size this peer is given (the slowest one would take minutes).
    drain_fraction = 1.0

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec(cls.module) is not None

    def setup(self) -> None:
        """Once per scenario 7, before anything else."""

    def teardown(self) -> None:
        """Once per scenario 7, at the end."""

    def reset(self) -> None:
        _redis().flushdb()

    def start_workers(self) -> list[PeerWorker]:
        raise NotImplementedError

    def pre_enqueue(self, n: int, waits: list[float] | None = None) -> None:
        """The stamp job, then n - 1 no-ops (or `wait` jobs sleeping waits[i] ms), the
        fastest way the peer offers."""
        raise NotImplementedError

    def all_done(self, n: int) -> bool:
        """All n jobs finished (either way), by the peer's own bookkeeping; cheap to poll."""
        raise NotImplementedError

    def completed_count(self) -> int:
        """Jobs completed successfully; called once the workers are stopped."""
        raise NotImplementedError

    def enqueue_one_by_one(self, n: int) -> None:
        raise NotImplementedError

    def enqueue_batches(self, n: int, batch: int) -> None:
        raise NotImplementedError

    def pending_count(self) -> int:
        raise NotImplementedError

    def send_probe(self, sent_at: float) -> None:
        raise NotImplementedError

    def opened(self):
        """A context in which this process can enqueue (Procrastinate opens its app)."""
        return contextlib.nullcontext()


class RQ(Peer):
    package = module = "rq"
    package_label = "RQ"
    batch_label = "RQ enqueue_many (pipeline, batches of {batch})"

    def __init__(
        self,
        worker_class: str,
        label: str,
        how: str,
        drain_fraction: float = 1.0,
        processes: int = PROCESSES,
    ):
        self.worker_class = worker_class
        self.label = label
        self.how = how
        self.drain_fraction = drain_fraction
        self.processes = processes

    def _queue(self):
        from rq import Queue

        return Queue("bench", connection=_redis())

    def start_workers(self) -> list[PeerWorker]:
        short = self.worker_class.rsplit(".", 1)[1].lower()
        return [
            PeerWorker(
                f"rq-{short}-{i}",
                [
                    "-m",
                    "rq.cli",
                    "worker",
                    "--url",
                    os.environ["BENCH_REDIS_URL"],
                    "--worker-class",
                    self.worker_class,
                    "--name",
                    f"bench-peer-rq-{short}-{i}-{time.monotonic_ns()}",
                    "--logging_level",
                    "WARNING",
                    "bench",
                ],
            )
            for i in range(1, self.processes + 1)
        ]

    def pre_enqueue(self, n: int, waits: list[float] | None = None) -> None:
        from rq import Queue

        from bench.peers_apps import rq_tasks

        def data(i: int):
            if waits:
                return Queue.prepare_data(rq_tasks.wait, args=(waits[i],))
            return Queue.prepare_data(rq_tasks.noop)

        queue = self._queue()
        queue.enqueue(rq_tasks.stamp)
        for start in range(1, n, 1000):
            with queue.connection.pipeline() as pipe:
                queue.enqueue_many(
                    [data(i) for i in range(start, min(n, start + 1000))], pipeline=pipe
                )
                pipe.execute()

    def all_done(self, n: int) -> bool:
        queue = self._queue()
        return queue.finished_job_registry.count + queue.failed_job_registry.count >= n

    def completed_count(self) -> int:
        return self._queue().finished_job_registry.count

    def enqueue_one_by_one(self, n: int) -> None:
        from bench.peers_apps import rq_tasks

        queue = self._queue()
        for _ in range(n):
            queue.enqueue(rq_tasks.noop)

    def enqueue_batches(self, n: int, batch: int) -> None:
        from rq import Queue

        from bench.peers_apps import rq_tasks

        queue = self._queue()
        for start in range(0, n, batch):
            with queue.connection.pipeline() as pipe:
                queue.enqueue_many(
                    [
                        Queue.prepare_data(rq_tasks.noop)
                        for _ in range(start, min(n, start + batch))
                    ],
                    pipeline=pipe,
                )
                pipe.execute()

    def pending_count(self) -> int:
        return self._queue().count

    def send_probe(self, sent_at: float) -> None:
        from bench.peers_apps import rq_tasks

        self._queue().enqueue(rq_tasks.probe, sent_at)


class Dramatiq(Peer):
    package_label = "Dramatiq"
    package = "dramatiq"
    module = "dramatiq"

    def __init__(self, processes: int = PROCESSES, threads: int = 1, label: str = "Dramatiq"):
        self.processes = processes
        self.threads = threads
        self.label = label
        self.how = (
            f"`dramatiq bench.peers_apps.dramatiq_app --processes {processes} --threads "
            f"{threads}`, Redis broker, default middleware (acks after the job, prefetch "
            f"{2 * threads} per process)"
        )

    @staticmethod
    def _app():
        from bench.peers_apps import dramatiq_app

        return dramatiq_app

    def start_workers(self) -> list[PeerWorker]:
        return [
            PeerWorker(
                "dramatiq",
                [
                    "-m",
                    "dramatiq",
                    "bench.peers_apps.dramatiq_app",
                    "--processes",
                    str(self.processes),
                    "--threads",
                    str(self.threads),
                ],
            )
        ]

    def pre_enqueue(self, n: int, waits: list[float] | None = None) -> None:
        app = self._app()
        app.stamp.send()
        for i in range(1, n):  # Dramatiq has no batch enqueue
            if waits:
                app.wait.send(waits[i])
            else:
                app.noop.send()

    def all_done(self, n: int) -> bool:
        # A message stays in the queue's hash until it is acked (or dead-lettered).
        return self._app().broker.do_qsize(self._app().QUEUE) == 0

    def completed_count(self) -> int:
        return int(_redis().get(self._app().COMPLETED_KEY) or 0)

    def enqueue_one_by_one(self, n: int) -> None:
        noop = self._app().noop
        for _ in range(n):
            noop.send()

    def pending_count(self) -> int:
        return self._app().broker.do_qsize(self._app().QUEUE)

    def send_probe(self, sent_at: float) -> None:
        self._app().probe.send(sent_at)


class Procrastinate(Peer):
    package_label = "Procrastinate"
    package = "procrastinate"
    module = "procrastinate"
    batch_label = "Procrastinate batch_defer (batches of {batch})"

    def __init__(
        self, processes: int = PROCESSES, concurrency: int = 1, label: str = "Procrastinate"
    ):
        self.processes = processes
        self.concurrency = concurrency
        self.label = label
        self.how = (
            f"{processes} × `procrastinate worker --concurrency {concurrency}` "
            + (
                "(one job at a time per process, like a 2-process pool; "
                if concurrency == 1 and processes == PROCESSES
                else "("
            )
            + "sync tasks run in a thread), PostgreSQL LISTEN/NOTIFY, its tables in a "
            "`procrastinate` schema of the benchmark database, analyzed after the enqueue as "
            "autovacuum would (it is off on this machine)"
        )

    @staticmethod
    def _app():
        from bench.peers_apps import procrastinate_app

        return procrastinate_app

    _conn = None

    def _sql(self, statement: str, params=None):
        """On one autocommit connection, kept open: polling must not connect each time."""
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._app().CONNINFO, autocommit=True)
        cursor = self._conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else None

    def setup(self) -> None:
        """A fresh copy of Procrastinate's schema, applied once per run."""
        import psycopg

        app = self._app()
        with psycopg.connect(app.CONNINFO, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {app.SCHEMA} CASCADE")
            conn.execute(f"CREATE SCHEMA {app.SCHEMA}")
        with app.app.open():
            app.app.schema_manager.apply_schema()

    def teardown(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def reset(self) -> None:
        super().reset()
        self._sql(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers,"
            " procrastinate_workers RESTART IDENTITY CASCADE"
        )

    def start_workers(self) -> list[PeerWorker]:
        return [
            PeerWorker(
                f"procrastinate-{i}",
                [
                    "-m",
                    "procrastinate",
                    "--app=bench.peers_apps.procrastinate_app.app",
                    "--log-level=warning",  # not a log line per job (the others log none)
                    "worker",
                    "--name",
                    f"bench-peer-procrastinate-{i}",
                    "--concurrency",
                    str(self.concurrency),
                    "--queues",
                    self._app().QUEUE,
                ],
            )
            for i in range(1, self.processes + 1)
        ]

    def pre_enqueue(self, n: int, waits: list[float] | None = None) -> None:
        app = self._app()
        app.stamp.defer()
        for start in range(1, n, 1000):
            if waits:
                app.wait.batch_defer(
                    *({"ms": waits[i]} for i in range(start, min(n, start + 1000)))
                )
            else:
                app.noop.batch_defer(*({} for _ in range(start, min(n, start + 1000))))
        # This machine's PostgreSQL runs with autovacuum off, and reset() truncates the table,
        # so it would never be analyzed: the planner would then take it for empty and sort
        # every waiting job on each fetch (100 ms per fetch at 20,000 jobs; the drain ran at a
        # third of its speed). On a server with autovacuum on, autoanalyze does this.
        self._sql("ANALYZE procrastinate_jobs")

    def _status_count(self, statuses: tuple[str, ...]) -> int:
        return self._sql(
            "SELECT count(*) FROM procrastinate_jobs WHERE status::text = ANY(%s)",
            [list(statuses)],
        )[0][0]

    def all_done(self, n: int) -> bool:
        # Served by Procrastinate's partial index on todo/doing jobs: cheap to poll.
        return self._sql(
            "SELECT NOT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing'))"
        )[0][0]

    def completed_count(self) -> int:
        return self._status_count(("succeeded",))

    def enqueue_one_by_one(self, n: int) -> None:
        noop = self._app().noop
        for _ in range(n):
            noop.defer()

    def enqueue_batches(self, n: int, batch: int) -> None:
        noop = self._app().noop
        for start in range(0, n, batch):
            noop.batch_defer(*({} for _ in range(start, min(n, start + batch))))

    def pending_count(self) -> int:
        return self._status_count(("todo",))

    def send_probe(self, sent_at: float) -> None:
        self._app().probe.defer(sent_at=sent_at)

    def opened(self):
        return self._app().app.open()


def _peers() -> list[Peer]:
    return [
        RQ(
            "rq.worker.SimpleWorker",
            "RQ SimpleWorker",
            f"{PROCESSES} × `rq worker --worker-class rq.worker.SimpleWorker` (runs jobs in "
            "the worker process)",
        ),
        RQ(
            "rq.worker.Worker",
            "RQ Worker (fork per job)",
            f"{PROCESSES} × `rq worker` (RQ's default: forks a work horse for every job; "
            "drained a tenth of N, at least 200: at ~100 jobs/s the full N takes minutes)",
            drain_fraction=0.1,
        ),
        Dramatiq(),
        Procrastinate(),
    ]


# --- the three measurements --------------------------------------------------------------


def _drain(peer: Peer, n: int, waits: list[float] | None = None) -> tuple[float, int]:
    """Returns (jobs/s, jobs completed)."""
    from bench.peers_apps import STAMP_KEY

    peer.reset()
    with peer.opened():
        peer.pre_enqueue(n, waits)
    redis = _redis()
    workers = peer.start_workers()
    try:
        started = float(
            _wait_for(lambda: redis.get(STAMP_KEY), workers, 120, f"{peer.label} to start")
        )
        _wait_for(lambda: peer.all_done(n), workers, max(120, n / 50), f"{peer.label} drain")
        elapsed = time.time() - started
    finally:
        _stop_all(workers)
    return n / elapsed, peer.completed_count()


def _enqueue(peer: Peer, n: int, batch: int | None) -> tuple[float, int]:
    peer.reset()
    with peer.opened():  # opening Procrastinate's pool is not part of the enqueue time
        t0 = time.perf_counter()
        if batch:
            peer.enqueue_batches(n, batch)
        else:
            peer.enqueue_one_by_one(n)
        rate = n / (time.perf_counter() - t0)
    return rate, peer.pending_count()


def _latency(peer: Peer, n: int, warmup: bool) -> list[float]:
    from bench.peers_apps import LATENCY_KEY

    peer.reset()
    redis = _redis()
    workers = peer.start_workers()

    def one() -> float:
        peer.send_probe(time.time())
        popped = None
        while popped is None:
            popped = redis.blpop(LATENCY_KEY, timeout=1)
            if popped is None:
                for worker in workers:
                    worker.check()
        return float(popped[1]) * 1000

    try:
        with peer.opened():
            one()  # the first probe waits for a worker to boot
            time.sleep(1)  # and the other process to finish booting
            for _ in range(20 if warmup else 0):
                one()
                time.sleep(0.005)
            values = []
            for _ in range(n):
                values.append(one())
                time.sleep(0.005)  # an idle worker between jobs
            return values
    finally:
        _stop_all(workers)


# --- the scenario ------------------------------------------------------------------------


def _ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}x" if reference else "-"


def _rate_row(label: str, value: float, spread: str, ref_platform, ref_raw) -> list[str]:
    """A jobs/s row with its ratios to the platform's and raw Celery's figures."""
    return [label, f"{value:,.0f}", spread, _ratio(value, ref_platform), _ratio(value, ref_raw)]


def run_peers(report, *, sizes, runs: int, warmup: bool) -> None:
    peers = [peer for peer in _peers() if peer.available()]
    missing = sorted({(p.package_label, p.package) for p in _peers() if not p.available()})
    for name in sorted({p.package for p in peers}):
        report.machine[name] = importlib.metadata.version(name)
    for peer in peers:
        peer.setup()

    drain = {peer.label: Measurement() for peer in peers}
    drain_n = {
        peer.label: max(min(sizes.drain, 200), int(sizes.drain * peer.drain_fraction))
        for peer in peers
    }
    enqueue_variants = []
    for peer in peers:
        if isinstance(peer, RQ) and peer.worker_class != "rq.worker.SimpleWorker":
            continue  # enqueueing does not depend on the worker class
        enqueue_variants.append((f"{peer.package_label} per-job enqueue", peer, None))
        if peer.batch_label:
            enqueue_variants.append(
                (peer.batch_label.format(batch=sizes.enqueue_batch), peer, sizes.enqueue_batch)
            )
    enqueue = {name: Measurement() for name, _, _ in enqueue_variants}
    latency: dict[str, list[float]] = {}

    try:
        for round_ in range(runs + (1 if warmup else 0)):
            measured = not (warmup and round_ == 0)
            for peer in peers:  # interleaved, so drift hits every peer
                n = drain_n[peer.label]
                rate, completed = _drain(peer, n)
                report.check(
                    completed == n, f"peers drain: {peer.label} completed {completed} of {n}"
                )
                if measured:
                    drain[peer.label].add(rate)
            for name, peer, batch in enqueue_variants:
                rate, pending = _enqueue(peer, sizes.enqueue, batch)
                report.check(
                    pending == sizes.enqueue,
                    f"peers enqueue: {name} queued {pending} of {sizes.enqueue}",
                )
                if measured:
                    enqueue[name].add(rate)
        for peer in peers:
            latency[peer.label] = _latency(peer, sizes.latency * runs, warmup)
            report.check(
                len(latency[peer.label]) == sizes.latency * runs,
                f"peers latency: {peer.label} ran {len(latency[peer.label])} probes",
            )
    finally:
        for peer in peers:
            peer.teardown()

    # Scenario 9 shows these like-for-like drains next to each peer's own configurations.
    report.results["peers_drain"] = {
        peer.label: drain[peer.label].median for peer in peers if drain_n[peer.label] == sizes.drain
    }
    _render(report, peers, missing, drain, drain_n, enqueue, latency, sizes, runs)


def _render(report, peers, missing, drain, drain_n, enqueue, latency, sizes, runs) -> None:
    ours = getattr(report, "results", {})
    skipped = [
        f"{label}: skipped, `{package}` is not installed (`make bench` installs the `peers` group)"
        for label, package in missing
    ]

    # 7a. drain
    ref_platform = ours.get("drain", {}).get("platform (ledger)")
    ref_raw = ours.get("drain", {}).get("raw Celery, same reliability")
    rows = []
    for name, value in (
        ("platform (ledger), from 1.", ref_platform),
        ("raw Celery, same reliability, from 1.", ref_raw),
    ):
        if value:
            rows.append(_rate_row(name, value, "-", ref_platform, ref_raw))
    for label, m in drain.items():
        if drain_n[label] != sizes.drain:
            label = f"{label}, {drain_n[label]:,} jobs"
        rows.append(_rate_row(label, m.median, m.spread(), ref_platform, ref_raw))
    rows += [[note, "-", "-", "-", "-"] for note in skipped]
    report.add_section(
        f"7a. Peers, drain: {sizes.drain:,} pre-enqueued no-op jobs, 2 worker processes, "
        "worker boot excluded",
        ["variant", "jobs/s (median)", "spread", "vs platform", "vs raw Celery same settings"],
        rows,
        [
            "The clock starts when the first job (a stamp job) starts in a booted worker and "
            "stops when the peer's own bookkeeping counts all jobs done (polled every 20 ms)."
            + ("" if ref_platform else " Platform figures: run the drain scenario in the same run.")
        ]
        + [f"- {p.label}: {p.how}." for p in peers],
    )

    # 7b. enqueue
    ref_platform = ours.get("enqueue", {}).get("platform .delay()")
    ref_raw = ours.get("enqueue", {}).get("raw Celery .delay()")
    rows = []
    for name, value in ours.get("enqueue", {}).items():
        rows.append(_rate_row(f"{name}, from 2.", value, "-", ref_platform, ref_raw))
    for name, m in enqueue.items():
        rows.append(_rate_row(name, m.median, m.spread(), ref_platform, ref_raw))
    rows += [[note, "-", "-", "-", "-"] for note in skipped]
    many = next((v for k, v in ours.get("enqueue", {}).items() if "enqueue_many" in k), None)
    batch_defer = next((m.median for k, m in enqueue.items() if "batch_defer" in k), None)
    target = (
        [
            f"Target platform enqueue_many ahead of Procrastinate's batch_defer: "
            f"{many / batch_defer:.2f}x — {report.verdict(many > batch_defer)}."
        ]
        if many and batch_defer
        else []
    )
    report.add_section(
        f"7b. Peers, enqueue: {sizes.enqueue:,} jobs from one process (no worker running)",
        ["variant", "jobs/s (median)", "spread", "vs platform .delay()", "vs raw .delay()"],
        rows,
        [
            "Per-job: RQ `Queue.enqueue`, Dramatiq `actor.send`, Procrastinate `task.defer` "
            "(in an opened sync app). Dramatiq has no batch enqueue."
            + (
                ""
                if ref_platform
                else " Platform figures: run the enqueue scenario in the same run."
            ),
            *target,
        ],
    )

    # 7c. latency
    ref_platform = ours.get("latency", {}).get("platform")
    ref_raw = ours.get("latency", {}).get("raw Celery")
    rows = []
    for name, (p50, p99, worst) in ours.get("latency", {}).items():
        rows.append(
            [
                f"{name}, from 3.",
                f"{p50:.2f}",
                f"{p99:.2f}",
                f"{worst:.2f}",
                _ratio(p50, ref_platform and ref_platform[0]),
                _ratio(p50, ref_raw and ref_raw[0]),
            ]
        )
    for label, values in latency.items():
        p50 = percentile(values, 50)
        rows.append(
            [
                label,
                f"{p50:.2f}",
                f"{percentile(values, 99):.2f}",
                f"{max(values):.2f}",
                _ratio(p50, ref_platform and ref_platform[0]),
                _ratio(p50, ref_raw and ref_raw[0]),
            ]
        )
    rows += [[note, "-", "-", "-", "-", "-"] for note in skipped]
    report.add_section(
        f"7c. Peers, latency: {sizes.latency * runs} sequential jobs on idle workers, "
        "enqueue → start (ms)",
        ["variant", "p50", "p99", "max", "p50 vs platform", "p50 vs raw Celery"],
        rows,
        [
            "Same 2 worker processes as the drain. Dramatiq's Redis consumer polls with a "
            "backoff when its queue is empty (up to its 1 s worker timeout); RQ blocks on "
            "the queue list; Procrastinate is woken by LISTEN/NOTIFY."
            + (
                ""
                if ref_platform
                else " Platform figures: run the latency scenario in the same run."
            )
        ],
    )
