"""Authentication under attack: forged client addresses, password guessing, broken
credentials and tokens that should be dead. Each test plays the attacker over HTTP.

- Throttles and allow-lists key on one client address (jobs/web/client_address.py):
  X-Forwarded-For counts only as far as TRUSTED_PROXY_COUNT trusts proxies, and the image's
  uvicorn believes forwarded headers only from FORWARDED_ALLOW_IPS.
- Password guessing is locked out per username and address (django-axes, jobs/web/lockout.py)
  on the API login, the admin login and /metrics' basic auth; the API login is also
  throttled per address.
- Tokens die with their user, their user's password, or a logout (jobs/web/auth.py,
  jobs/web/auth_views.py); bad credentials answer 401, never 500.

Run alone with ``pytest tests/test_security_auth.py``.
"""

import base64
import http.client
import json
import re
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from tests.support.processes import LOG_DIR, worker_env
from tickets.tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.security]

ROOT = Path(__file__).resolve().parents[1]
OUTSIDER = "203.0.113.9"  # not in JOBS_METRICS_ALLOWED_IPS (127.0.0.1 by default)


@pytest.fixture
def production_rates(settings):
    """The API's production throttle rates (the test settings raise them out of the way).
    The login throttle reads them per request; DRF's anon throttle and the waitlist's link
    throttle bind theirs at import, so tests set those on the class."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "anon": "60/minute",
            "user": "1200/minute",
            "public_link": "30/minute",
            "jobs_admin": "600/minute",
            "login": "10/minute",
        },
    }


@pytest.fixture
def behind_one_proxy(settings):
    """TRUSTED_PROXY_COUNT=1: one reverse proxy appends the client's address."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def login(client: APIClient, username: str, password: str, **extra):
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", **extra
    )


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# --- 1. one client address: X-Forwarded-For does not buy a fresh budget ----------------------
def test_login_throttle_is_not_reset_by_a_new_x_forwarded_for_on_each_attempt(
    production_rates,
):
    # Given an attacker spraying one password over many accounts (so no account locks out),
    # claiming a new address in X-Forwarded-For on every attempt
    client = APIClient()
    codes = [
        login(
            client, f"victim{i}", "Winter2024!", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}"
        ).status_code
        for i in range(70)
    ]

    # Then the login throttle (10/minute per address) counts them all as one client
    assert codes[:10] == [401] * 10
    assert set(codes[10:]) == {429}
    throttled = login(client, "victim99", "x", HTTP_X_FORWARDED_FOR="198.51.100.250")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    # while another real address still has its own budget
    assert login(client, "victim0", "x", REMOTE_ADDR="192.0.2.44").status_code == 401


def test_anonymous_api_throttle_is_not_reset_by_a_new_x_forwarded_for(monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "rate", "60/minute", raising=False)
    client = APIClient()

    codes = [
        client.post(
            "/api/auth/token/refresh/",
            {"refresh": "junk"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(70)
    ]

    assert codes[:60] == [401] * 60
    assert set(codes[60:]) == {429}


def test_public_confirm_link_throttle_is_not_reset_by_a_new_x_forwarded_for(monkeypatch):
    from waitlist import links
    from waitlist.tests.factories import HoldFactory, SlotFactory, TenantFactory
    from waitlist.throttles import PublicLinkThrottle

    monkeypatch.setattr(PublicLinkThrottle, "rate", "30/minute", raising=False)
    hold = HoldFactory(slot=SlotFactory(tenant=TenantFactory()))
    path = urlsplit(
        links.hold_link_url(hold=hold, purpose=links.Purpose.CONFIRM, tenant_slug=hold.tenant.slug)
    ).path
    client = Client()

    codes = [
        client.get(path, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(40)
    ]

    assert codes[:30] == [200] * 30
    assert set(codes[30:]) == {429}


def test_behind_a_trusted_proxy_clients_are_told_apart_by_the_address_the_proxy_saw(
    production_rates, behind_one_proxy
):
    # Given one trusted proxy (REMOTE_ADDR) that appends the address it saw; the client
    # writes whatever it likes to the left of that
    client = APIClient()
    proxy = {"REMOTE_ADDR": "10.0.0.5"}

    def attempt(i: int, seen_by_proxy: str) -> int:
        forged = f"198.51.100.{i}"
        return login(
            client, f"victim{i}", "x", HTTP_X_FORWARDED_FOR=f"{forged}, {seen_by_proxy}", **proxy
        ).status_code

    # When one client forges a new left-hand address each time: one budget
    one_client = [attempt(i, "203.0.113.20") for i in range(12)]
    # and a second client behind the same proxy keeps its own
    other_client = attempt(50, "203.0.113.21")

    assert one_client[:10] == [401] * 10 and one_client[10:] == [429, 429]
    assert other_client == 401


# --- 2. /metrics' allow-list believes no forged header ---------------------------------------
def test_metrics_allow_list_ignores_x_forwarded_for_from_the_client_itself():
    # The probe: a local process on 127.0.0.2 claims to be 127.0.0.1 (the allow-list)
    forged = Client(REMOTE_ADDR="127.0.0.2").get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert forged.status_code == 401
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200


def test_metrics_allow_list_behind_a_trusted_proxy_uses_the_address_the_proxy_saw(
    behind_one_proxy, settings
):
    settings.JOBS_METRICS_ALLOWED_IPS = ["192.0.2.10"]
    via_proxy = Client(REMOTE_ADDR="10.0.0.5")

    allowed = via_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.10")
    forged = via_proxy.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.10, 203.0.113.7")

    assert allowed.status_code == 200
    assert forged.status_code == 401  # the proxy saw 203.0.113.7; the rest is the client's


def image_web_command() -> tuple[list[str], dict[str, str]]:
    """The Dockerfile's CMD and the ENV values it sets for uvicorn."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)[-1])
    env = dict(re.findall(r"^ENV (FORWARDED_ALLOW_IPS)=(\S+)$", dockerfile, re.MULTILINE))
    return cmd, env


def status_from(source: str, port: int, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=30, source_address=(source, 0)
    )
    try:
        connection.request("GET", "/metrics", headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.slow
def test_the_images_web_server_believes_forwarded_headers_only_from_its_trusted_proxy():
    from tests.support.private_redis import free_port

    # Given the web server exactly as the image starts it (on a free local port)
    cmd, image_env = image_web_command()
    assert "uvicorn" in cmd[0] and not any(arg.endswith("=*") for arg in cmd)
    assert image_env.get("FORWARDED_ALLOW_IPS") not in (None, "*")
    port = free_port()
    args = [str(ROOT / ".venv/bin/uvicorn"), *cmd[1:]]
    args[args.index("--port") + 1] = str(port)
    args[args.index("--host") + 1] = "127.0.0.1"
    env = {k: v for k, v in worker_env().items() if k != "FORWARDED_ALLOW_IPS"}
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "uvicorn-image.log", "wb") as log:
        server = subprocess.Popen(
            args, cwd=ROOT, env={**env, **image_env}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    direct = status_from("127.0.0.1", port, {})
                    break
                except OSError:
                    assert server.poll() is None and time.monotonic() < deadline, "no server"
                    time.sleep(0.2)

            # When a process on 127.0.0.2 claims 127.0.0.1, and when the trusted proxy
            # (127.0.0.1 here) forwards an outside client
            forged = status_from("127.0.0.2", port, {"X-Forwarded-For": "127.0.0.1"})
            proxied = status_from("127.0.0.1", port, {"X-Forwarded-For": OUTSIDER})
        finally:
            server.terminate()
            server.wait(timeout=30)

    # Then only the real 127.0.0.1 is in the allow-list
    assert direct == 200
    assert forged == 401
    assert proxied == 401


# --- 3. password guessing locks out ----------------------------------------------------------
def test_api_login_locks_a_username_out_from_an_address_after_five_failures(production_rates):
    staff = StaffFactory()
    client = APIClient()

    answers = [
        login(client, staff.username, f"wrong{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        for i in range(8)
    ]

    assert [a.status_code for a in answers[:4]] == [401] * 4
    locked = answers[4:]
    assert {a.status_code for a in locked} == {429}
    assert {a.json()["code"] for a in locked} == {"locked_out"}
    assert locked[0]["Content-Type"] == "application/json"
    assert int(locked[0]["Retry-After"]) == 15 * 60
    # Even the right password is refused from that address...
    refused = login(client, staff.username, PASSWORD)
    assert refused.status_code == 429 and "access" not in refused.json()
    # ...but not from another one, nor for another account from this one
    assert login(client, staff.username, PASSWORD, REMOTE_ADDR="192.0.2.44").status_code == 200
    assert login(client, StaffFactory().username, PASSWORD).status_code == 200


def test_api_login_lockout_ends_after_the_cool_off(production_rates):
    staff = StaffFactory()
    client = APIClient()
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False) as clock:
        for i in range(5):
            login(client, staff.username, f"wrong{i}")
        assert login(client, staff.username, PASSWORD).status_code == 429

        clock.shift(timedelta(minutes=16))

        assert login(client, staff.username, PASSWORD).status_code == 200


def test_api_login_never_answers_500_for_usernames_the_lockout_cannot_record():
    client = APIClient()

    too_long = login(client, "a" * 300, "x")
    with_nul = login(client, "ad\x00min", "x")

    assert too_long.status_code == 400 and "username" in too_long.json()
    assert with_nul.status_code == 400


def test_admin_login_locks_out_after_five_failures():
    staff = StaffFactory()
    browser = Client()

    codes = [
        browser.post(
            "/admin/login/?next=/admin/", {"username": staff.username, "password": f"wrong{i}"}
        ).status_code
        for i in range(30)
    ]
    right = browser.post(
        "/admin/login/?next=/admin/", {"username": staff.username, "password": PASSWORD}
    )

    assert codes[:4] == [200] * 4  # the form again, with its error
    assert set(codes[4:]) == {429}
    assert right.status_code == 429 and "Retry-After" in right
    assert browser.get("/admin/").status_code == 302  # not signed in
    elsewhere = Client(REMOTE_ADDR="192.0.2.44")
    assert (
        elsewhere.post(
            "/admin/login/?next=/admin/", {"username": staff.username, "password": PASSWORD}
        ).status_code
        == 302
    )


def test_metrics_basic_auth_locks_out_after_five_failures():
    staff = StaffFactory()
    scraper = Client(REMOTE_ADDR=OUTSIDER)

    codes = [
        scraper.get("/metrics", HTTP_AUTHORIZATION=basic(staff.username, f"wrong{i}")).status_code
        for i in range(70)
    ]
    right = scraper.get("/metrics", HTTP_AUTHORIZATION=basic(staff.username, PASSWORD))

    assert codes[:4] == [401] * 4
    assert set(codes[4:]) == {403}
    assert right.status_code == 403 and "Retry-After" in right
    elsewhere = Client(REMOTE_ADDR="198.51.100.77")
    right_elsewhere = elsewhere.get("/metrics", HTTP_AUTHORIZATION=basic(staff.username, PASSWORD))
    assert right_elsewhere.status_code == 200


def test_lockout_answers_the_same_under_asgi_as_the_web_server_runs_it(settings):
    # uvicorn runs the middleware chain async, where axes calls the lockout answer its own way
    settings.JOBS_METRICS_ALLOWED_IPS = ["192.0.2.1"]  # the async test client is 127.0.0.1
    staff = StaffFactory()

    async def guess() -> tuple[list[int], list[int], int]:
        client = AsyncClient()
        admin = [
            (
                await client.post(
                    "/admin/login/", {"username": staff.username, "password": f"wrong{i}"}
                )
            ).status_code
            for i in range(3)
        ]
        metrics = [
            (
                await client.get(
                    "/metrics", headers={"Authorization": basic(staff.username, f"wrong{i}")}
                )
            ).status_code
            for i in range(3)
        ]
        api = await client.post(
            "/api/auth/token/",
            {"username": staff.username, "password": PASSWORD},
            content_type="application/json",
        )
        return admin, metrics, api.status_code

    admin, metrics, api = async_to_sync(guess)()

    assert admin == [200, 200, 200]
    assert metrics == [401, 403, 403]  # the fifth failure of this username from here
    assert api == 429


# --- 4. /metrics: broken credentials are 401, never 500 --------------------------------------
def test_metrics_answers_401_for_tokens_of_inactive_and_deleted_users():
    from tests.support.auth import access_token

    inactive, deleted = StaffFactory(), StaffFactory()
    inactive_token, deleted_token = access_token(inactive), access_token(deleted)
    inactive.is_active = False
    inactive.save()
    deleted.delete()
    scraper = Client(REMOTE_ADDR=OUTSIDER)

    for token in (inactive_token, deleted_token):
        response = scraper.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="metrics"'


@pytest.mark.parametrize(
    "header",
    [
        "Basic éé",
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
        "Basic " + base64.b64encode(b"a" * 300 + b":x").decode(),  # longer than any username
        "Basic " + base64.b64encode(b"ad\x00min:x").decode(),  # NUL: the database refuses it
        "Basic",
        "Bearer éé",
        "Bearer a.b.c",
        "Bearer ",
    ],
)
def test_metrics_answers_401_for_undecodable_credentials(header):
    response = Client(REMOTE_ADDR=OUTSIDER).get("/metrics", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401


# --- 5. refresh with a deleted user's token --------------------------------------------------
def test_refresh_token_of_a_deleted_user_is_401_json():
    user = UserFactory()
    client = APIClient()
    refresh = login(client, user.username, PASSWORD).json()["refresh"]
    user.delete()

    response = client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


def test_refresh_token_of_a_deactivated_user_is_401_json():
    user = UserFactory()
    client = APIClient()
    refresh = login(client, user.username, PASSWORD).json()["refresh"]
    user.is_active = False
    user.save()

    response = client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


# --- 6. revocation: password change and logout -----------------------------------------------
def test_a_password_change_revokes_every_access_and_refresh_token_issued_before_it():
    staff = StaffFactory()
    client = APIClient()
    old = login(client, staff.username, PASSWORD).json()
    # a refresh token rotated before the change is just as dead
    rotated = client.post("/api/auth/token/refresh/", {"refresh": old["refresh"]}, format="json")
    rotated_refresh = rotated.json()["refresh"]
    assert client.get("/api/jobs/", HTTP_AUTHORIZATION=f"Bearer {old['access']}").status_code == 200

    staff.set_password("a new passphrase for 2026")
    staff.save()

    old_access = client.get("/api/jobs/", HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    old_refresh = client.post(
        "/api/auth/token/refresh/", {"refresh": rotated_refresh}, format="json"
    )
    assert old_access.status_code == 401
    assert old_access.json()["code"] == "password_changed"
    assert old_refresh.status_code == 401
    assert old_refresh.json()["code"] == "password_changed"
    scraper = Client(REMOTE_ADDR=OUTSIDER)
    assert scraper.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {old['access']}").status_code == 401
    # The new password gives working tokens
    new = login(client, staff.username, "a new passphrase for 2026").json()
    assert client.get("/api/jobs/", HTTP_AUTHORIZATION=f"Bearer {new['access']}").status_code == 200
    assert scraper.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {new['access']}").status_code == 200


def test_logout_blacklists_the_refresh_token():
    user = UserFactory()
    client = APIClient()
    pair = login(client, user.username, PASSWORD).json()

    logout = client.post("/api/auth/logout/", {"refresh": pair["refresh"]}, format="json")
    refresh = client.post("/api/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    again = client.post("/api/auth/logout/", {"refresh": pair["refresh"]}, format="json")

    assert logout.status_code == 200
    assert refresh.status_code == 401 and refresh.json()["code"] == "token_not_valid"
    assert again.status_code == 401
    assert client.post("/api/auth/logout/", {"refresh": "junk"}, format="json").status_code == 401
    assert client.post("/api/auth/logout/", {}, format="json").status_code == 400
