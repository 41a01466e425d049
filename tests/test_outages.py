"""A dependency's outage takes down only what needs it, seen from an HTTP client.

The documented web command (uvicorn serving config.asgi) runs as a real process against the
test database and a private Redis; the tests stop Redis, or cut PostgreSQL off behind a TCP
proxy, and call every HTTP surface the way clients do.
"""

import json
import re
import threading
from collections import Counter

import pytest
import requests
from django.conf import settings
from django.db import connection
from websockets.sync.client import connect

from jobs.ledger.models import Job, JobStatus
from tests.support.auth import access_token
from tests.support.private_redis import PrivateRedis
from tests.support.processes import worker_env
from tests.support.waiting import wait_for
from tests.support.web_server import TcpProxy, WebServer

pytestmark = [pytest.mark.integration, pytest.mark.faults]

PASSWORD = "operator-password"


@pytest.fixture
def operator(transactional_db, django_user_model):
    return django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path / "redis").start()
    yield redis
    redis.stop()


@pytest.fixture
def web(private_redis, operator):
    server = WebServer(worker_env(REDIS_URL=private_redis.url)).wait_ready()
    yield server
    server.stop()


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {access_token(user)}"}


def parameterless_get_paths(schema: dict) -> list[str]:
    return sorted(
        path
        for path, operations in schema["paths"].items()
        if "{" not in path and "get" in operations
    )


def admin_session(web: WebServer) -> requests.Session:
    """Log in to Django admin through its login form, as a browser does."""
    session = requests.Session()
    page = session.get(web.url("/admin/login/"), timeout=10)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        web.url("/admin/login/?next=/admin/"),
        data={"csrfmiddlewaretoken": token, "username": "operator", "password": PASSWORD},
        headers={"Referer": web.url("/admin/login/")},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


# --- Redis down ---------------------------------------------------------------------------------
def test_with_redis_stopped_every_http_surface_answers_and_enqueued_jobs_run_once_it_is_back(
    web, private_redis, operator, start_worker
):
    auth = bearer(operator)
    schema = requests.get(web.url("/api/schema/?format=json"), headers=auth, timeout=10).json()
    private_redis.stop()

    # The load balancer's probe names what is down; nothing else fails.
    probe = requests.get(web.url("/healthz"), timeout=10)
    assert probe.status_code == 503
    assert probe.json()["components"]["redis"] == {"ok": False}

    # Logging in (throttled per address, lockout in the database) still works.
    login = requests.post(
        web.url("/api/auth/token/"),
        json={"username": "operator", "password": PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access']}"}

    # Enqueueing is accepted: the job waits in the ledger for Redis.
    created = requests.post(
        web.url("/api/jobs"),
        json={"task": "jobs.sleep", "args": [0.01]},
        headers=auth,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]

    # Every API read, the operator's health answer, the docs.
    answers = {}
    for path in parameterless_get_paths(schema):
        answers[path] = requests.get(web.url(path), headers=auth, timeout=10)
    answers["/api/jobs/{id}"] = requests.get(
        web.url(f"/api/jobs/{job_id}"), headers=auth, timeout=10
    )
    answers["/api/docs/"] = requests.get(web.url("/api/docs/"), timeout=10)
    failed = {p: (a.status_code, a.text[:300]) for p, a in answers.items() if a.status_code >= 500}
    assert failed == {}
    assert all(
        a.headers["Content-Type"].startswith(
            ("application/json", "text/html", "application/vnd.oai.openapi", "text/plain")
        )
        for a in answers.values()
    )

    health = answers["/api/jobs/health"].json()
    assert any("Redis" in issue for issue in health["degraded"]), health

    # Django admin: log in through the form, open the job list and the job.
    session = admin_session(web)
    for path in ("/admin/", "/admin/jobs/job/", f"/admin/jobs/job/{job_id}/change/"):
        page = session.get(web.url(path), timeout=10)
        assert page.status_code == 200, (path, page.text[:300])

    # Redis comes back (empty): the job accepted during the outage runs, once.
    private_redis.start()
    start_worker(env=worker_env(REDIS_URL=private_redis.url))
    wait_for(lambda: Job.objects.get(id=job_id).status == JobStatus.COMPLETED, timeout=30)
    job = Job.objects.get(id=job_id)
    assert (job.attempts, job.result) == (1, 0.01)
    assert requests.get(web.url("/healthz"), timeout=10).status_code in (200, 503)


def test_with_redis_stopped_a_websocket_client_is_told_the_stream_is_unavailable(
    web, private_redis, operator
):
    private_redis.stop()
    with connect(
        web.url("/ws/jobs/").replace("http", "ws", 1),
        subprotocols=["bearer", access_token(operator)],
        origin="http://localhost",
        open_timeout=10,
    ) as socket:
        message = json.loads(socket.recv(timeout=10))
        assert message["type"] == "error" and message["code"] == "stream_unavailable", message
        with pytest.raises(Exception) as closed:
            socket.recv(timeout=10)
    assert getattr(closed.value, "rcvd", None) is not None and closed.value.rcvd.code == 1013


# --- PostgreSQL down ------------------------------------------------------------------------
@pytest.fixture
def web_behind_proxy(private_redis, operator):
    db = settings.DATABASES["default"]
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    name = connection.settings_dict["NAME"]
    url = f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@127.0.0.1:{proxy.port}/{name}"
    server = WebServer(
        worker_env(REDIS_URL=private_redis.url, DATABASE_URL=url, DB_POOL_TIMEOUT="2")
    ).wait_ready()
    yield server, proxy
    server.stop()
    proxy.cut()


def test_with_postgresql_down_the_api_answers_503_json_with_retry_after_and_recovers(
    web_behind_proxy, operator
):
    web, proxy = web_behind_proxy
    auth = bearer(operator)
    assert requests.get(web.url("/api/jobs"), headers=auth, timeout=10).status_code == 200

    proxy.cut()
    calls = [
        ("GET", "/api/jobs", None),
        ("POST", "/api/jobs", {"task": "jobs.noop"}),
        ("GET", "/api/jobs/metrics", None),
        ("GET", "/api/waitlist/tenants/", None),
        ("GET", "/api/tickets/events/", None),
    ]
    for method, path, body in calls:
        answer = requests.request(method, web.url(path), json=body, headers=auth, timeout=15)
        assert answer.status_code == 503, (path, answer.status_code, answer.text[:300])
        assert answer.elapsed.total_seconds() < 6, (
            path,
            answer.elapsed,
        )  # one timeout, not one per query
        assert answer.headers["Content-Type"] == "application/json", path
        assert answer.json()["code"] == "database_unavailable"
        assert int(answer.headers["Retry-After"]) > 0
    page = requests.get(web.url("/admin/login/"), timeout=15)
    assert page.status_code in (200, 503)  # the login form needs no database
    assert requests.get(web.url("/healthz"), timeout=15).status_code == 503
    assert Job.objects.count() == 0  # nothing half-written

    proxy.restore()
    wait_for(
        lambda: requests.get(web.url("/api/jobs"), headers=auth, timeout=10).status_code == 200,
        timeout=20,
    )
    created = requests.post(
        web.url("/api/jobs"), json={"task": "jobs.noop"}, headers=auth, timeout=10
    )
    assert created.status_code == 201


# --- bounded connections --------------------------------------------------------------------
def test_64_concurrent_clients_get_no_5xx_and_connections_stay_within_the_pool_bound(
    private_redis, operator
):
    pool, processes = 4, 2
    server = WebServer(
        worker_env(REDIS_URL=private_redis.url, DB_POOL_MAX_SIZE=str(pool)), workers=processes
    ).wait_ready()
    auth = bearer(operator)
    name = connection.settings_dict["NAME"]
    statuses: Counter = Counter()
    peak = [0]
    stop = threading.Event()

    def count_connections():
        from psycopg import connect as pg_connect

        db = settings.DATABASES["default"]
        with pg_connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            while not stop.is_set():
                (n,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                    "AND pid <> pg_backend_pid()",
                    [name],
                ).fetchone()
                peak[0] = max(peak[0], n)
                stop.wait(0.05)

    def client(i: int):
        with requests.Session() as session:
            for n in range(15):
                path = ("/api/jobs/health", "/api/jobs/metrics", "/api/jobs")[(i + n) % 3]
                answer = session.get(server.url(path), headers=auth, timeout=30)
                statuses[answer.status_code] += 1

    try:
        watcher = threading.Thread(target=count_connections)
        watcher.start()
        clients = [threading.Thread(target=client, args=(i,)) for i in range(64)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
    finally:
        stop.set()
        server.stop()
    watcher.join()
    assert sum(statuses.values()) == 64 * 15
    assert set(statuses) == {200}, statuses
    # The test process's own connection (this test's transaction) is the one extra.
    assert peak[0] <= processes * pool + 1, (peak[0], statuses)
