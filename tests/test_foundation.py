"""The foundation: settings, the Celery app's safety nets, /healthz, Flower and `make run`.

Everything here runs real processes (settings in fresh interpreters, real workers, a real
Flower, the real `scripts/run-local.sh`) against real Redis and PostgreSQL; nothing is mocked.
"""

import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django_celery_results.models import TaskResult
from kombu import Connection

from jobs.models import Job
from jobs.tasks import echo
from tests.support.processes import ROOT, worker_env

SETTINGS_DIR = ROOT / "config" / "settings"


# --- helpers --------------------------------------------------------------------------------


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, auth: tuple[str, str] | None = None) -> tuple[int | None, bytes]:
    """(status, body); status None while nothing listens."""
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None, b""


def clean_env(**values: str) -> dict[str, str]:
    """A bare environment: none of the suite's DATABASE_URL, REDIS_URL or settings module."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(values)
    return env


def run_python(args: list[str], env: dict[str, str], timeout: float = 60):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def production_env(**overrides: str) -> dict[str, str]:
    """The documented production example (.env.example) with a real secret key."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    values["SECRET_KEY"] = secrets.token_urlsafe(64)
    values["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    values.update(overrides)
    return clean_env(**values)


def process_tree(root_pid: int) -> dict[int, str]:
    """pid -> start time of root_pid and all its descendants (start time guards pid reuse)."""
    parents: dict[int, int] = {}
    started: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], started[pid] = int(fields[1]), fields[19]
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return {pid: started[pid] for pid in tree if pid in started}


def still_running(pid: int, start_time: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == start_time and fields[0] != "Z"


# --- settings ---------------------------------------------------------------------------------


def test_default_database_is_sqlite_in_wal_mode_with_immediate_transactions(tmp_path):
    # Given no DATABASE_URL, when the base settings open a real connection (redirected to a
    # scratch file so the developer's var/db.sqlite3 is left alone) ...
    scratch = tmp_path / "db.sqlite3"
    code = """
import json, sqlite3, sys
from django.conf import settings
db = settings.DATABASES["default"]
out = {"engine": db["ENGINE"], "name": str(db["NAME"]), "mode": db["OPTIONS"]["transaction_mode"]}
db["NAME"] = sys.argv[1]
import django
django.setup()
from django.db import connection, transaction
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    out["journal_mode"] = cursor.fetchone()[0]
# IMMEDIATE takes the write lock at BEGIN: a second writer cannot even start its transaction.
with transaction.atomic():
    other = sqlite3.connect(sys.argv[1], timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        out["second_writer"] = "started"
    except sqlite3.OperationalError as exc:
        out["second_writer"] = str(exc)
print(json.dumps(out))
"""
    result = run_python(
        ["-c", code, str(scratch)], clean_env(DJANGO_SETTINGS_MODULE="config.settings.local")
    )

    # ... then it is SQLite under var/, in WAL mode, with IMMEDIATE transactions.
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["engine"] == "django.db.backends.sqlite3"
    assert out["name"] == str(ROOT / "var" / "db.sqlite3")
    assert out["mode"] == "IMMEDIATE"
    assert out["journal_mode"] == "wal"
    assert "locked" in out["second_writer"]


@pytest.mark.parametrize(
    "secret_key",
    [
        None,
        "too-short",
        "local-development-key-not-for-production",
        # the placeholder of .env.example, long enough but never a real key
        "change-me-to-a-random-value-of-at-least-fifty-characters-0123456789",
    ],
    ids=["missing", "short", "local-default", "example-placeholder"],
)
def test_production_settings_refuse_to_start_without_a_real_secret_key(secret_key):
    env = production_env()
    if secret_key is None:
        del env["SECRET_KEY"]
    else:
        env["SECRET_KEY"] = secret_key

    result = run_python(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set to a random value" in result.stderr


@pytest.mark.parametrize("url", [None, "http://jobs.example.com"])
def test_production_settings_refuse_links_that_are_not_https(url):
    env = production_env()
    if url is None:
        del env["WAITLIST_PUBLIC_BASE_URL"]
    else:
        env["WAITLIST_PUBLIC_BASE_URL"] = url

    result = run_python(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "WAITLIST_PUBLIC_BASE_URL must be the public https://" in result.stderr


@pytest.mark.security
def test_production_settings_pass_check_deploy_with_the_documented_values():
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env()
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_env_example_documents_every_variable_the_settings_read():
    read = set()
    for module in SETTINGS_DIR.glob("*.py"):
        read |= set(re.findall(r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", module.read_text()))
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    )

    assert read, "no env.<type>(...) calls found in config/settings"
    assert sorted(read - documented) == []


@pytest.mark.integration
@pytest.mark.parametrize(
    "limits",
    [
        {"CELERY_BROKER_VISIBILITY_TIMEOUT": "10"},
        {"CELERY_TASK_TIME_LIMIT": "7200", "CELERY_TASK_SOFT_TIME_LIMIT": "7000"},
    ],
    ids=["visibility-timeout-10s", "hard-limit-2h"],
)
def test_visibility_timeout_not_above_hard_time_limit_stops_the_worker_at_startup(limits):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **limits}

    result = run_python(
        ["-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "info", "-Q", "default"],
        env,
        timeout=60,
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ImproperlyConfigured" in output
    assert "must be larger than the longest hard time limit" in output
    assert " ready." not in output


# --- a real worker --------------------------------------------------------------------------


@pytest.mark.integration
def test_plain_celery_task_result_is_stored_by_django_celery_results(worker):
    result = echo.delay({"hello": "world"})

    assert result.get(timeout=30) == {"hello": "world"}
    row = TaskResult.objects.get(task_id=result.id)
    assert row.status == "SUCCESS"
    assert row.task_name == "jobs.echo"
    assert json.loads(row.result) == {"hello": "world"}
    assert row.worker.startswith("w1@")
    # A plain Celery task has no ledger row: django-celery-results is its only record.
    assert not Job.objects.filter(id=result.id).exists()


@pytest.mark.integration
@pytest.mark.security
def test_pickled_task_message_is_refused_and_never_runs(worker):
    # Given a task message serialised with pickle, put straight into the `default` queue ...
    task_id = str(uuid.uuid4())
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
    ) as conn:
        conn.Producer().publish(
            ([f"pickled {task_id}"], {}, {"callbacks": None, "errbacks": None, "chain": None}),
            exchange="",
            routing_key="default",
            serializer="pickle",
            headers={
                "lang": "py",
                "task": "jobs.echo",
                "id": task_id,
                "root_id": task_id,
                "parent_id": None,
                "group": None,
                "retries": 0,
                "eta": None,
                "expires": None,
                "timelimit": [None, None],
                "argsrepr": "['pickled']",
                "kwargsrepr": "{}",
                "origin": "test",
            },
            correlation_id=task_id,
        )

    # ... when a JSON task sent after it has run (so the worker has seen the pickled one) ...
    assert echo.delay("json").get(timeout=30) == "json"
    wait_for(lambda: "application/x-python-serialize" in worker.log(), timeout=10)

    # ... then the pickled task was refused and discarded, not run and not left in Redis.
    log = worker.log()
    assert "Refusing to deserialize untrusted content of type pickle" in log
    assert f"jobs.echo[{task_id}]" not in log  # never received as a task, never run
    assert not TaskResult.objects.filter(task_id=task_id).exists()
    from jobs.ledger.broker import queue_depths

    assert queue_depths(["default"]) == {"default": 0}


# --- /healthz -------------------------------------------------------------------------------


@pytest.mark.integration
def test_healthz_is_200_when_database_redis_and_a_worker_answer(worker, client):
    response = wait_for(lambda: (r := client.get("/healthz")).status_code == 200 and r)

    body = response.json()
    assert body["status"] == "ok"
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["redis"]["ok"] is True
    assert body["components"]["workers"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_naming_the_workers_when_no_worker_runs(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["components"]["workers"]["ok"] is False
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["redis"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_naming_redis_when_redis_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    response = client.get("/healthz")

    assert response.status_code == 503
    components = response.json()["components"]
    assert components["redis"]["ok"] is False
    assert components["database"]["ok"] is True


# --- Flower ---------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.security
def test_flower_requires_basic_auth_and_keeps_its_state_on_disk(tmp_path):
    port = free_port()
    log_path = tmp_path / "flower.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "flower",
                f"--port={port}",
                "--address=127.0.0.1",
                "--basic-auth=u:p",
                "--persistent=True",
                f"--db={tmp_path / 'flower.db'}",
            ],
            cwd=ROOT,
            env=worker_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_get(f"{base}/healthcheck")[0] == 200, timeout=30)

        assert http_get(f"{base}/")[0] == 401
        assert http_get(f"{base}/api/workers")[0] == 401
        assert http_get(f"{base}/", auth=("u", "wrong"))[0] == 401
        assert http_get(f"{base}/", auth=("u", "p"))[0] == 200
        status, body = http_get(f"{base}/api/workers", auth=("u", "p"))
        assert status == 200
        assert isinstance(json.loads(body), dict)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    # --persistent: the state was written to the db file on shutdown.
    assert list(tmp_path.glob("flower.db*")), log_path.read_text()


# --- make run -------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_make_run_serves_admin_docs_flower_and_healthz_and_ctrl_c_stops_everything(tmp_path):
    web = free_port()
    flower = wait_for(lambda: (port := free_port()) != web and port)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "EMAIL_URL")
    }
    env.update(
        PORT=str(web),
        FLOWER_PORT=str(flower),
        FLOWER_DB=str(tmp_path / "flower.db"),
        FLOWER_USER="admin",
        FLOWER_PASSWORD="admin",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL=settings.REDIS_URL,
        JOBS_HEARTBEAT_INTERVAL="1",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "run-local.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["scripts/run-local.sh"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    site, flower_site = f"http://127.0.0.1:{web}", f"http://127.0.0.1:{flower}"
    tree: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 60

        def up(url: str, status: int, auth=None) -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"run-local.sh exited:\n{log_path.read_text()}")
            return http_get(url, auth)[0] == status

        for url, status, auth in [
            (f"{site}/admin/login/", 200, None),
            (f"{site}/api/docs/", 200, None),
            (f"{flower_site}/", 401, None),
            (f"{flower_site}/", 200, ("admin", "admin")),
            (f"{site}/healthz", 200, None),
        ]:
            wait_for(
                lambda url=url, status=status, auth=auth: up(url, status, auth),
                timeout=max(deadline - time.monotonic(), 1),
                interval=0.5,
            )
        # A job enqueued through the API runs to completion on the local (SQLite) ledger.
        token = requests.post(
            f"{site}/api/auth/token/", json={"username": "admin", "password": "admin"}, timeout=10
        ).json()["access"]
        bearer = {"Authorization": f"Bearer {token}"}
        created = requests.post(
            f"{site}/api/jobs/", json={"task": "jobs.noop"}, headers=bearer, timeout=10
        )
        assert created.status_code == 201, created.text
        job_url = f"{site}/api/jobs/{created.json()['id']}"
        wait_for(
            lambda: (
                requests.get(job_url, headers=bearer, timeout=10).json()["status"] == "completed"
            ),
            timeout=30,
        )
        output = log_path.read_text()
        assert "raised unexpected" not in output, output[-3000:]
        assert "Created local admin user: admin / admin" in output
        assert f"http://127.0.0.1:{web}/admin/" in output
        assert f"http://127.0.0.1:{web}/api/docs/" in output
        assert f"http://127.0.0.1:{flower}/" in output
        tree = process_tree(proc.pid)
        assert len(tree) >= 5  # honcho plus web, worker, beat and Flower

        # Ctrl-C in the terminal: SIGINT to the foreground process group.
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)
        wait_for(lambda: not any(still_running(p, s) for p, s in tree.items()), timeout=30)
    finally:
        if proc.poll() is None:
            tree = tree or process_tree(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
        for pid, start_time in tree.items():
            if still_running(pid, start_time):
                os.kill(pid, signal.SIGKILL)
        proc.wait(10)
