"""A whole platform of its own: a private PostgreSQL cluster, a private Redis, web, workers and
beat, all on free ports and pointed at the private services through environment variables.

Shared by the chaos soak (``chaos.soak``) and the load run (``chaos.load``). Nothing here
touches the machine's own PostgreSQL or Redis: the cluster is ``initdb``-ed into a temporary
directory and removed at the end, the Redis keeps nothing on disk.
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import psycopg

from tests.support.private_redis import PrivateRedis, free_port

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# The rate-limited queue of the soak: declared only in the soak's environment (JOBS_QUEUES).
LIMITED_QUEUE = "chaos.limited"


def pg_bin(name: str) -> str:
    """A PostgreSQL server binary (initdb, pg_ctl, ...), newest installed version first."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server binaries")
    return candidates[0]


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, on a free port, trust auth on loopback.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres``
    system user and its commands run through ``runuser``."""

    def __init__(self, directory: Path, port: int | None = None, dbname: str = "chaos"):
        self.directory = directory
        self.data = directory / "data"
        self.port = port or free_port()
        self.dbname = dbname
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"
        self.log = directory / "postgres.log"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(argv)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> "PrivatePostgres":
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.directory, pg.pw_uid, pg.pw_gid)
        self._run(
            pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.directory}'\n"
                # A soak restarts the server many times: durability of the private cluster
                # across an OS crash is not what is measured, so skip the fsyncs.
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\n"
            )
        self.start()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        return self

    @property
    def admin_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start")
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self._run(
            pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-m",
            "fast",
            "-w",
            "restart",
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise TimeoutError("private PostgreSQL did not accept connections")

    def connections(self) -> int:
        """Client connections to the platform's database now (pg_stat_activity)."""
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=2) as conn:
            row = conn.execute(
                "select count(*) from pg_stat_activity where datname = %s", [self.dbname]
            ).fetchone()
            return int(row[0]) if row else 0

    def destroy(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (a worker's pool), in kB."""
    total = 0
    for p in [pid, *descendants(pid)]:
        with suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        with suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                for child in children:
                    found.append(int(child))
                    todo.append(int(child))
    return found


class Proc:
    """One platform process (web, a worker, beat) in a session of its own, restartable."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path, ready: str = ""):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_dir = log_dir
        self.ready = ready
        self.proc: subprocess.Popen | None = None
        self.incarnation = 0
        self.started_at = 0.0
        self.rss_start: int | None = None
        self.log_path = log_dir / f"{name}.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> "Proc":
        self.incarnation += 1
        log = open(self.log_path, "a")  # noqa: SIM115 (the child keeps it)
        log.write(f"\n===== {self.name} start #{self.incarnation} at {time.time():.3f}\n")
        log.flush()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started_at = time.time()
        self.rss_start = None
        return self

    def wait_ready(self, timeout: float = 60) -> "Proc":
        if not self.ready:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            text = self.log_path.read_text(errors="replace")
            marker = f"===== {self.name} start #{self.incarnation} "
            if self.ready in text[text.rfind(marker) :]:
                return self
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s; see {self.log_path}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.alive():
            with suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group (a worker's main and pool processes)."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        self.signal_group(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        self.signal_group(signal.SIGTERM)
        try:
            assert self.proc is not None
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def rss(self) -> int:
        return rss_kb(self.pid) if self.alive() else 0

    def sample_rss(self) -> None:
        """Remember the first reading after a start (the baseline of memory growth)."""
        if self.rss_start is None and self.alive() and time.time() - self.started_at > 5:
            self.rss_start = self.rss()


class Stack:
    """The private services and the platform's processes, started in order."""

    def __init__(
        self,
        workdir: Path,
        *,
        workers: int = 2,
        concurrency: int = 2,
        web_workers: int | None = None,
        extra_env: dict | None = None,
    ):
        self.workdir = workdir.resolve()
        self.log_dir = workdir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pg = PrivatePostgres(Path(tempfile.mkdtemp(prefix="chaos-pg-")))
        self.redis = PrivateRedis(self.workdir / "redis")
        self.web_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.n_workers = workers
        self.concurrency = concurrency
        self.web_workers = web_workers
        self.extra_env = extra_env or {}
        self.web: Proc | None = None
        self.workers: list[Proc] = []
        self.beat: Proc | None = None
        self.password = "chaos-admin-password"

    # --- environment ------------------------------------------------------------------------
    def env(self) -> dict:
        from config.queues import QUEUE_NAMES  # plain data, no Django

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.redis.url,
            "JOBS_QUEUES": ",".join([*QUEUE_NAMES, LIMITED_QUEUE]),
            "JOBS_HEARTBEAT_INTERVAL": "1",
            "JOBS_HEARTBEAT_TIMEOUT": "6",
            "JOBS_REPUBLISH_AFTER": "5",
            "JWT_ACCESS_MINUTES": "600",
            "EMAIL_URL": f"filemail:///{self.workdir / 'mail'}",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("TEST_DATABASE_NAME", None)
        env.update({k: str(v) for k, v in self.extra_env.items()})
        return env

    def queues(self) -> list[str]:
        from config.queues import QUEUE_NAMES

        return [*QUEUE_NAMES, LIMITED_QUEUE]

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    # --- processes ----------------------------------------------------------------------------
    def make_worker(self, index: int) -> Proc:
        return Proc(
            f"worker{index}",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-E",
                "-l",
                "info",
                "-c",
                str(self.concurrency),
                "-n",
                f"chaos{index}@%h",
                "-Q",
                ",".join(self.queues()),
                "--without-gossip",
                "--without-mingle",
            ],
            self.env(),
            self.log_dir,
            ready=" ready.",
        )

    def make_beat(self) -> Proc:
        return Proc(
            "beat",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "beat",
                "-l",
                "info",
                "-s",
                str(self.workdir / "beat-schedule"),
                "--pidfile=",
            ],
            self.env(),
            self.log_dir,
            ready="beat: Starting",
        )

    def make_web(self) -> Proc:
        argv = [
            str(VENV_BIN / "uvicorn"),
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.web_port),
            "--no-access-log",
        ]
        if self.web_workers:
            argv += ["--workers", str(self.web_workers)]
        return Proc("web", argv, self.env(), self.log_dir, ready="Application startup complete")

    def start(self, *, beat: bool = True) -> "Stack":
        self.pg.init()
        self.redis.start()
        self.manage("migrate", "--noinput")
        self.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_superuser('chaos', 'chaos@example.com', "
            f"'{self.password}')",
        )
        self.manage(
            "shell",
            "-c",
            "from jobs import queue_set_rate_limit; "
            f"queue_set_rate_limit(queue='{LIMITED_QUEUE}', max_jobs=5, duration_ms=1000)",
        )
        self.web = self.make_web().start()
        self.workers = [self.make_worker(i + 1).start() for i in range(self.n_workers)]
        if beat:
            self.beat = self.make_beat().start()
        for proc in self.processes():
            proc.wait_ready()
        return self

    def processes(self) -> list[Proc]:
        return [p for p in [self.web, *self.workers, self.beat] if p is not None]

    def token(self) -> str:
        import httpx

        answer = httpx.post(
            f"{self.base_url}/api/auth/token/",
            json={"username": "chaos", "password": self.password},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()["access"]

    def shutdown(self) -> None:
        for proc in self.processes():
            proc.stop()
        with suppress(Exception):
            self.redis.stop()
        self.pg.destroy()
