"""Secure defaults, tested from the attacker's side (findings 9-12 and 14 of the probe).

- a tenant's staff cannot flood the queue all tenants share (keyed triggers, a per-tenant
  budget);
- ``/ws/jobs/`` takes no token from the URL and closes when the user loses access;
- Flower asks for credentials by default (``/metrics`` and API too), compose publishes
  operator ports on loopback only, ``/healthz`` says only up or down;
- no process starts on a known secret key, no debug page outside an explicit local run,
  passwords inside URLs are masked on error pages and in logs;
- the operator's health and scheduler answers stay fast.
"""

import asyncio
import base64
import io
import logging
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

import jwt
import pytest
import yaml
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from config.secret_masking import MASK, MaskSecretsFilter, mask_url_credentials
from config.settings.local import local_secret_key
from tests.support.auth import access_token, jwt_client
from tests.support.processes import ROOT, worker_env
from tests.support.websocket import WebsocketCommunicator
from waitlist.models import NotificationStatus
from waitlist.tests.factories import (
    HoldFactory,
    MembershipFactory,
    NotificationFactory,
    SlotFactory,
    TenantFactory,
    UserFactory,
)
from waitlist.tests.ledger import cascade_jobs, enqueued

pytestmark = pytest.mark.security

PUBLISHED_LOCAL_KEY = "local-development-key-not-for-production"
ORIGIN = [(b"origin", b"http://127.0.0.1")]


# --- helpers --------------------------------------------------------------------------------
def tenant_staff_client(tenant) -> APIClient:
    return jwt_client(MembershipFactory(tenant=tenant).user)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, auth: tuple[str, str] | None = None) -> int | None:
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def bare_env(**values: str) -> dict[str, str]:
    """No settings module, no secret key: what a process started by hand would get."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(values)
    return env


def run_python(args: list[str], env: dict[str, str], timeout: float = 60):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


# --- 9. a tenant's staff cannot flood the shared queue -----------------------------------------
@pytest.mark.django_db
def test_repeated_cascade_triggers_of_tenant_staff_return_the_live_job_then_429():
    # Given a tenant's staff and an open slot of theirs ...
    tenant = TenantFactory()
    slot = SlotFactory(tenant=tenant)
    client = tenant_staff_client(tenant)

    # ... when they fire the same trigger 300 times ...
    statuses, job_ids = [], set()
    for _ in range(300):
        response = client.post(
            "/api/jobs/cascade/trigger", {"slot_id": slot.pk, "reason": "opened"}, format="json"
        )
        statuses.append(response.status_code)
        if response.status_code == 202:
            job_ids.add(response.json()["job_id"])

    # ... then one job exists: every accepted repeat returned the live one, and the tenant's
    # budget (30 a minute) turned the rest away with 429.
    assert cascade_jobs().count() == 1
    assert len(job_ids) == 1
    assert statuses[:30] == [202] * 30
    assert set(statuses[30:]) == {429}


@pytest.mark.django_db
def test_a_tenants_trigger_budget_is_shared_by_its_staff_and_not_by_other_tenants(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "waitlist_trigger": "4/minute",
        },
    }
    tenant, other = TenantFactory(), TenantFactory()
    slots = [SlotFactory(tenant=tenant) for _ in range(6)]
    failed = NotificationFactory(hold=HoldFactory(slot=slots[0]), status=NotificationStatus.FAILED)
    alice, bob = tenant_staff_client(tenant), tenant_staff_client(tenant)

    # Two accounts of one tenant, each trigger a different job (different keys) ...
    answers = [
        alice.post("/api/jobs/cascade/trigger", {"slot_id": slots[0].pk, "reason": "opened"}),
        bob.post("/api/jobs/cascade/trigger", {"slot_id": slots[1].pk, "reason": "opened"}),
        alice.post("/api/jobs/expired-holds/trigger", {"tenant": tenant.slug}),
        bob.post("/api/jobs/notifications/retry", {"notification_id": failed.pk}),
        # ... the fifth, whoever sends it and whatever it triggers, is over the budget.
        alice.post("/api/jobs/cascade/trigger", {"slot_id": slots[2].pk, "reason": "opened"}),
        bob.post("/api/jobs/expired-holds/trigger", {"tenant": tenant.slug}),
    ]

    assert [a.status_code for a in answers] == [202, 202, 202, 202, 429, 429]
    assert int(answers[4]["Retry-After"]) > 0
    # Another tenant's staff have a budget of their own; platform staff are not counted.
    other_slot = SlotFactory(tenant=other)
    response = tenant_staff_client(other).post(
        "/api/jobs/cascade/trigger", {"slot_id": other_slot.pk, "reason": "opened"}
    )
    assert response.status_code == 202
    admin = jwt_client(UserFactory(is_staff=True))
    for slot in slots[3:]:
        response = admin.post("/api/jobs/cascade/trigger", {"slot_id": slot.pk, "reason": "opened"})
        assert response.status_code == 202


@pytest.mark.django_db
def test_cascade_trigger_key_is_per_tenant_slot_and_reason():
    tenant = TenantFactory()
    slot, other_slot = SlotFactory(tenant=tenant), SlotFactory(tenant=tenant)
    client = tenant_staff_client(tenant)

    def trigger(slot, reason):
        body = {"slot_id": slot.pk, "reason": reason}
        return client.post("/api/jobs/cascade/trigger", body, format="json").json()

    first = trigger(slot, "opened")
    assert trigger(slot, "opened")["job_id"] == first["job_id"]
    assert trigger(slot, "expired")["job_id"] != first["job_id"]
    assert trigger(other_slot, "opened")["job_id"] != first["job_id"]
    assert cascade_jobs().count() == 3
    # Once the job is no longer live, the same trigger queues a new one.
    cascade_jobs().filter(id=first["job_id"]).update(status="completed")
    again = trigger(slot, "opened")
    assert again["created"] is True and again["job_id"] != first["job_id"]
    assert enqueued("waitlist.notification_cascade").count() == 4


# --- 10. /ws/jobs/: no token in the URL, access checked while connected -------------------------
def ws(path: str = "/ws/jobs/", subprotocols=None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=ORIGIN, subprotocols=subprotocols)


async def close_code(comm, timeout: float = 5.0) -> tuple[list[dict], int | None]:
    """Every message up to the close, and the close code."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = await comm.receive_output(timeout=max(deadline - time.monotonic(), 0.01))
        if output["type"] == "websocket.close":
            return seen, output.get("code")
        seen.append(output)
    raise AssertionError(f"not closed within {timeout}s; got {seen}")


@pytest.fixture
def staff(transactional_db, django_user_model):
    return django_user_model.objects.create_user("ops", "ops@example.com", "ops-pw", is_staff=True)


@pytest.fixture
def fast_recheck(monkeypatch):
    from jobs.web.stream.consumer import JobStreamConsumer

    monkeypatch.setattr(JobStreamConsumer, "recheck_seconds", 0.2)
    monkeypatch.setattr(JobStreamConsumer, "auth_timeout", 0.5)
    return JobStreamConsumer


def test_ws_jobs_refuses_a_staff_token_in_the_query_string(staff):
    token = access_token(staff)

    async def scenario():
        comm = ws(f"/ws/jobs/?token={token}")
        connected, _ = await comm.connect(timeout=10)
        messages, code = await close_code(comm)
        await comm.disconnect()
        return connected, messages, code

    connected, messages, code = async_to_sync(scenario)()

    assert connected and code == 4401
    texts = [m.get("text", "") for m in messages]
    assert not any('"subscribed"' in t for t in texts)  # nothing streamed
    assert any("not accepted in the URL" in t for t in texts)


def test_ws_jobs_authenticates_with_the_subprotocol_header_or_a_first_message(staff):
    token = access_token(staff)

    async def scenario():
        header = ws(subprotocols=["bearer", token])
        connected, subprotocol = await header.connect(timeout=10)
        hello_header = await header.receive_json_from(timeout=10)
        await header.disconnect()

        message = ws()
        connected_2, _ = await message.connect(timeout=10)
        await message.send_json_to({"action": "authenticate", "token": token})
        hello_message = await message.receive_json_from(timeout=10)
        await message.disconnect()
        return connected, subprotocol, hello_header, connected_2, hello_message

    connected, subprotocol, hello_header, connected_2, hello_message = async_to_sync(scenario)()

    assert connected and subprotocol == "bearer"
    assert hello_header == {"type": "subscribed", "all": True, "jobs": []}
    assert connected_2 and hello_message == {"type": "subscribed", "all": True, "jobs": []}


def test_ws_jobs_closes_without_credentials_in_time_or_with_another_first_message(
    staff, fast_recheck
):
    customer = UserFactory()
    customer_token = access_token(customer)

    async def scenario():
        results = {}
        silent = ws()
        await silent.connect(timeout=10)
        results["silent"] = (await close_code(silent))[1]
        await silent.disconnect()

        chatty = ws()
        await chatty.connect(timeout=10)
        await chatty.send_json_to({"action": "subscribe_all"})
        results["other first message"] = (await close_code(chatty))[1]
        await chatty.disconnect()

        forged = ws()
        await forged.connect(timeout=10)
        fake = jwt.encode(
            {"token_type": "access", "user_id": staff.pk, "jti": "x", "exp": 4102444800},
            PUBLISHED_LOCAL_KEY,
            algorithm="HS256",
        )
        await forged.send_json_to({"action": "authenticate", "token": fake})
        results["forged"] = (await close_code(forged))[1]
        await forged.disconnect()

        customer_ws = ws()
        await customer_ws.connect(timeout=10)
        await customer_ws.send_json_to({"action": "authenticate", "token": customer_token})
        results["customer"] = (await close_code(customer_ws))[1]
        await customer_ws.disconnect()
        return results

    assert async_to_sync(scenario)() == {
        "silent": 4401,
        "other first message": 4401,
        "forged": 4401,
        "customer": 4403,
    }


@pytest.mark.parametrize("change", ["no longer staff", "deactivated", "deleted"])
def test_ws_jobs_closes_with_4403_when_the_user_loses_access_while_connected(
    staff, fast_recheck, change
):
    token = access_token(staff)

    def revoke():
        if change == "no longer staff":
            type(staff).objects.filter(pk=staff.pk).update(is_staff=False)
        elif change == "deactivated":
            type(staff).objects.filter(pk=staff.pk).update(is_active=False)
        else:
            type(staff).objects.filter(pk=staff.pk).delete()

    async def scenario():
        comm = ws(subprotocols=["bearer", token])
        await comm.connect(timeout=10)
        assert (await comm.receive_json_from(timeout=10))["type"] == "subscribed"
        await database_sync_to_async(revoke)()
        messages, code = await close_code(comm, timeout=5)
        await comm.disconnect()
        return messages, code

    messages, code = async_to_sync(scenario)()

    assert code == 4403
    assert messages == []


def test_ws_jobs_closes_a_session_socket_when_the_session_is_logged_out(staff, fast_recheck):
    from django.test import Client

    browser = Client()
    browser.force_login(staff)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()

    async def scenario():
        comm = WebsocketCommunicator(
            application, "/ws/jobs/", headers=[*ORIGIN, (b"cookie", cookie)]
        )
        await comm.connect(timeout=10)
        hello = await comm.receive_json_from(timeout=10)
        await database_sync_to_async(browser.logout)()
        messages, code = await close_code(comm, timeout=5)
        await comm.disconnect()
        return hello, messages, code

    hello, messages, code = async_to_sync(scenario)()

    assert hello["type"] == "subscribed"
    assert messages == [] and code == 4403


def test_ws_jobs_checks_access_again_before_sending_a_job_update(staff, fast_recheck, monkeypatch):
    from jobs.web.stream import relay as relay_module

    async def no_periodic_check(self):  # only the check before sending is left
        return None

    monkeypatch.setattr(fast_recheck, "_recheck_periodically", no_periodic_check)
    token = access_token(staff)
    update = {"type": "job.update", "job": {"job_id": "x", "status": "active"}}

    async def scenario():
        comm = ws(subprotocols=["bearer", token])
        await comm.connect(timeout=10)
        await comm.receive_json_from(timeout=10)
        group = relay_module._relay.all_group
        layer = get_channel_layer()
        # While staff, an update goes through ...
        await asyncio.sleep(0.25)
        await layer.group_send(group, update)
        delivered = await comm.receive_json_from(timeout=5)
        # ... after losing staff, the next one is not sent: the socket closes instead.
        await database_sync_to_async(
            lambda: type(staff).objects.filter(pk=staff.pk).update(is_staff=False)
        )()
        await asyncio.sleep(0.25)
        await layer.group_send(group, update)
        messages, code = await close_code(comm)
        await comm.disconnect()
        return delivered, messages, code

    delivered, messages, code = async_to_sync(scenario)()

    assert delivered == {"type": "job", "job": update["job"]}
    assert messages == [] and code == 4403


def test_ws_jobs_closes_with_4401_when_the_access_token_expires(staff, fast_recheck):
    token = AccessToken.for_user(staff)
    token.set_exp(lifetime=timedelta(seconds=1))

    async def scenario():
        comm = ws()
        await comm.connect(timeout=10)
        await comm.send_json_to({"action": "authenticate", "token": str(token)})
        assert (await comm.receive_json_from(timeout=10))["type"] == "subscribed"
        messages, code = await close_code(comm, timeout=5)
        await comm.disconnect()
        return messages, code

    messages, code = async_to_sync(scenario)()

    assert code == 4401 and messages == []


# --- 11. Flower, compose ports, /healthz -------------------------------------------------------
@pytest.mark.integration
def test_plain_celery_flower_asks_for_credentials_on_every_page_but_its_healthcheck(tmp_path):
    port = free_port()
    env = worker_env(FLOWER_USER="ops", FLOWER_PASSWORD="a-long-flower-password")
    log_path = tmp_path / "flower.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "flower", f"--port={port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while http_get(f"{base}/healthcheck") != 200:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)

        for page in ["/", "/metrics", "/api/workers", "/api/tasks", "/tasks"]:
            assert http_get(f"{base}{page}") == 401, page
            assert http_get(f"{base}{page}", auth=("ops", "wrong")) == 401, page
        assert http_get(f"{base}/metrics", auth=("ops", "a-long-flower-password")) == 200
        assert http_get(f"{base}/api/workers", auth=("ops", "a-long-flower-password")) == 200
        # Loopback by default; the password is not on the command line (`ps` shows that).
        assert f"Visit me at http://127.0.0.1:{port}" in log_path.read_text()
        cmdline = (f"/proc/{proc.pid}/cmdline", "r")
        with open(*cmdline) as f:
            assert "a-long-flower-password" not in f.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.mark.parametrize(
    ("credentials", "settings_module", "reason"),
    [
        ({}, "config.settings.test", "set FLOWER_USER and FLOWER_PASSWORD"),
        (
            {"FLOWER_USER": "ops", "FLOWER_PASSWORD": "CHANGE-ME-flower-password"},
            "config.settings.production",
            "placeholder",
        ),
        ({"FLOWER_USER": "admin", "FLOWER_PASSWORD": "admin"}, "config.settings.production", ""),
    ],
    ids=["no-credentials", "example-placeholder", "admin-admin-outside-a-local-run"],
)
def test_flower_refuses_to_start_without_real_credentials(credentials, settings_module, reason):
    env = {
        k: v
        for k, v in worker_env(DJANGO_SETTINGS_MODULE=settings_module).items()
        if k not in ("FLOWER_USER", "FLOWER_PASSWORD", "FLOWER_BASIC_AUTH")
    }
    env.update(credentials)
    if settings_module.endswith("production"):
        env.update(
            SECRET_KEY="x" * 64, ALLOWED_HOSTS="jobs.example.com",
            WAITLIST_PUBLIC_BASE_URL="https://jobs.example.com",
        )  # fmt: skip

    result = run_python(
        ["-m", "celery", "-A", "config", "flower", f"--port={free_port()}"], env, timeout=60
    )

    assert result.returncode != 0
    assert "Flower will not start" in result.stderr
    assert reason in result.stderr


def test_compose_publishes_operator_ports_on_loopback_and_keeps_flowers_password_off_argv():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    published = {
        name: service.get("ports", [])
        for name, service in compose["services"].items()
        if service.get("ports")
    }

    assert set(published) == {"web", "flower"}
    for name, ports in published.items():
        for port in ports:
            # host_ip:host_port:container_port, the host address defaulting to loopback
            assert re.fullmatch(r"\$\{[A-Z_]+:-127\.0\.0\.1\}:\d+:\d+", str(port)), (name, port)
    flower_command = " ".join(compose["services"]["flower"]["command"])
    assert "basic-auth" not in flower_command and "FLOWER_PASSWORD" not in flower_command
    procfile = (ROOT / "Procfile").read_text()
    assert "basic-auth" not in procfile and "FLOWER_PASSWORD" not in procfile.split("\nweb:")[1]


@pytest.mark.django_db
def test_healthz_tells_anyone_only_up_or_down():
    from jobs.ledger.workers import heartbeat_record

    heartbeat_record("secret-host.internal:4242", "main")

    response = APIClient().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "components": {"database": {"ok": True}, "redis": {"ok": True}, "workers": {"ok": True}},
    }
    for secret in ("secret-host", "4242", connection.vendor):
        assert secret not in response.content.decode()
    # The details stay on the staff-only operator answer.
    staff = jwt_client(UserFactory(is_staff=True))
    assert "secret-host.internal:4242" in staff.get("/api/jobs/health").json()["workers"]["live"]
    assert APIClient().get("/api/jobs/health").status_code == 401


@pytest.mark.django_db
def test_healthz_names_no_host_or_error_when_a_part_is_down(settings):
    settings.CELERY_BROKER_URL = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing there

    response = APIClient().get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "components": {
            "database": {"ok": True},
            "redis": {"ok": False},
            "workers": {"ok": False},
        },
    }


# --- 12. no known secret key, no debug page, secrets masked ------------------------------------
@pytest.mark.parametrize(
    "entry_point",
    [
        ["manage.py", "check"],
        ["-c", "import config.wsgi"],
        ["-c", "import config.asgi"],
        ["-m", "celery", "-A", "config", "inspect", "ping", "--timeout", "1"],
    ],
    ids=["manage.py", "wsgi", "asgi", "celery"],
)
def test_entry_points_without_a_settings_module_use_production_and_refuse_a_missing_key(
    entry_point, tmp_path
):
    env = bare_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALLOWED_HOSTS="jobs.example.com",
        WAITLIST_PUBLIC_BASE_URL="https://jobs.example.com",
        REDIS_URL="redis://127.0.0.1:6379/6",
    )

    result = run_python(entry_point, env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set to a random value" in result.stdout + result.stderr


def test_local_run_signs_with_a_random_key_of_its_own_and_refuses_the_published_one():
    # The local settings with no SECRET_KEY (what `make run` gets) ...
    code = f"""
import django, jwt
django.setup()
from django.conf import settings
from jobs.web.auth import user_from_jwt
forged = jwt.encode({{"token_type": "access", "user_id": 1, "jti": "x", "exp": 4102444800}},
                    {PUBLISHED_LOCAL_KEY!r}, algorithm="HS256")
print(len(settings.SECRET_KEY) >= 50, settings.SECRET_KEY == {PUBLISHED_LOCAL_KEY!r},
      user_from_jwt(forged) is None)
print(settings.SECRET_KEY)
"""
    env = bare_env(DJANGO_SETTINGS_MODULE="config.settings.local", REDIS_URL="redis://x:1/0")
    first = run_python(["-c", code], env)
    second = run_python(["-c", code], env)

    # ... sign with a random key kept in var/secret_key, the same in every process, and a
    # token signed with the formerly published development key is refused.
    assert first.returncode == 0, first.stderr
    summary, key = first.stdout.strip().splitlines()[-2:]
    assert summary == "True False True"
    assert second.stdout.strip().splitlines()[-1] == key
    key_file = ROOT / "var" / "secret_key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_local_secret_key_is_made_once_even_when_processes_start_together(tmp_path):
    path = tmp_path / "var" / "secret_key"
    keys: list[str] = []
    threads = [
        threading.Thread(target=lambda: keys.append(local_secret_key(path))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(keys)) == 1 and len(keys[0]) >= 50
    assert local_secret_key(path) == keys[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name != "secret_key"]  # no leftovers


def test_production_settings_refuse_debug(tmp_path):
    env = bare_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="k" * 64,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALLOWED_HOSTS="jobs.example.com",
        WAITLIST_PUBLIC_BASE_URL="https://jobs.example.com",
        DEBUG="true",
    )

    result = run_python(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr


def test_debug_page_masks_passwords_in_urls_of_settings_request_and_traceback(settings, rf):
    # The password is built at run time: the page also shows the source lines around each
    # frame, and a literal there would be found whatever the masking does.
    password = "".join(["hun", "ter", "2"])
    secret_url = f"redis://:{password}@redis.internal:6379/0"
    settings.REDIS_URL = secret_url
    settings.CELERY_BROKER_URL = secret_url
    settings.FLOWER_URL = f"https://ops:{password}@flower.example.com"
    settings.CACHES = {**settings.CACHES, "other": {"LOCATION": secret_url, "BACKEND": "x"}}
    settings.CHANNEL_LAYERS = {"default": {"CONFIG": {"hosts": [{"address": secret_url}]}}}
    request = rf.get("/boom")
    request.META["REDIS_URL"] = secret_url  # WSGI servers put the environment here

    from django.views.debug import technical_500_response

    def connect(url: str):
        target = f"postgres://jobs:{password}@db.internal:5432/jobs"  # noqa: F841 - a local
        raise ConnectionError(f"Error connecting to {url}")

    try:
        connect(secret_url)
    except ConnectionError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()

    assert password not in page
    assert f"redis://:{MASK}@redis.internal:6379/0" in page
    assert f"postgres://jobs:{MASK}@db.internal:5432/jobs" in page


def test_console_log_lines_mask_passwords_in_urls():
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, MaskSecretsFilter) for f in h.filters)
    ]
    assert handlers, "the console handler has no MaskSecretsFilter"
    handler = handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    password = "".join(["hun", "ter", "2"])
    try:
        log = logging.getLogger("tests.masking")
        log.error("cannot reach %s", f"redis://:{password}@redis:6379/0")
        try:
            raise ConnectionError(f"smtp+tls://jobs:{password}@smtp.example.com:587 refused")
        except ConnectionError:
            log.exception("sending failed")
    finally:
        handler.setStream(previous)

    output = stream.getvalue()
    assert password not in output
    assert "sending failed" in output and "ConnectionError" in output
    assert f"redis://:{MASK}@redis:6379/0" in output
    assert mask_url_credentials("http://example.com:8000/x") == "http://example.com:8000/x"


# --- 14. the operator's answers stay fast --------------------------------------------------------
@pytest.mark.django_db
def test_health_and_scheduler_answer_fast_and_in_a_fixed_number_of_queries():
    call_command("sync_schedules", verbosity=0)
    # Every schedule enabled long ago, so each has a slot to check for a missed run.
    PeriodicTask.objects.update(date_changed=timezone.now() - timedelta(days=3))
    staff = jwt_client(UserFactory(is_staff=True))
    staff.get("/api/jobs/health")  # warm-up (the worker list cache)

    def measure(url: str) -> tuple[float, int]:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(url).status_code == 200
        return time.perf_counter() - started, len(queries)

    health_time, _ = measure("/api/jobs/health")
    scheduler_time, scheduler_queries = measure("/api/jobs/scheduler")

    # Ten more every-minute schedules cost no extra query.
    every_minute = CrontabSchedule.objects.create(minute="*", hour="*", timezone="UTC")
    for n in range(10):
        PeriodicTask.objects.create(name=f"extra-{n}", task="jobs.noop", crontab=every_minute)
    PeriodicTask.objects.update(date_changed=timezone.now() - timedelta(days=3))
    more_time, more_queries = measure("/api/jobs/scheduler")

    assert health_time < 0.5, health_time
    assert scheduler_time < 0.5, scheduler_time
    assert more_time < 0.5, more_time
    assert more_queries == scheduler_queries
