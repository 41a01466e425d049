"""The OpenAPI schema says exactly what the API's validation accepts: Schemathesis, every check.

An adversarial probe ran ``schemathesis run --checks all`` and found the schema looser than
validation in both directions (27 mismatches: ``?limit=`` blank accepted, ``{"jobs": []}``
refused although the schema allowed it, ``seat_ids: [false]`` read as the zero UUID, ...).
``test_the_api_answers_exactly_as_its_schema_says_under_every_schemathesis_check`` runs that
very command, with every check (status codes, response schemas and headers, content types,
negative data rejected, positive data accepted, auth, methods, stateful links), against the
project on a live test server (real HTTP, the test database), so the run fails on any
mismatch. The tests after it pin what it found, as plain requests.

- Identities: the jobs API (``/api/jobs/``) as platform staff, the waitlist as a tenant's
  staff, the tickets API as a customer (``[[operations]]`` headers in a generated config).
- Reproducible: a fixed seed and ``--max-examples 10`` (``CONTRACT_MAX_EXAMPLES`` to change
  it); about four minutes on 2 cores. The command's whole output is written to
  ``var/test-logs/schema-contract.log``, with a ``curl`` line for every failure.
- Generation aware of what JSON Schema cannot state (the clock, rows already there) through
  hooks that only steer valid cases: tests/support/schema_contract_hooks.py.
- NUL characters are not generated (``--generation-allow-x00 false``): the API refuses
  them in every string, keys of free-form objects too (tests/test_security_input.py), which
  OpenAPI 3.0 has no keyword to say.

Run alone: ``scripts/schema-contract.sh`` (CI runs it as a step of its own).
"""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.auth import jwt_client

pytestmark = pytest.mark.security

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
HOOKS = Path(__file__).parent / "support" / "schema_contract_hooks.py"
LOG = Path(__file__).resolve().parent.parent / "var" / "test-logs" / "schema-contract.log"
SEED = "20240611"


@pytest.fixture
def contract_world(transactional_db):
    """Three identities and a few real objects for the generated requests to reach."""
    from django.utils import timezone
    from django_celery_beat.models import IntervalSchedule, PeriodicTask
    from rest_framework_simplejwt.tokens import RefreshToken

    from jobs.models import Job, JobStatus
    from tickets.tests.factories import (
        EventFactory,
        SeatFactory,
        StaffFactory,
        UserFactory,
        paid_booking,
    )
    from waitlist.tests.factories import HoldFactory, MembershipFactory, SlotFactory

    def token(user) -> str:
        return str(RefreshToken.for_user(user).access_token)

    staff = StaffFactory()
    membership = MembershipFactory()
    holds = [HoldFactory(slot=SlotFactory(tenant=membership.tenant)) for _ in range(3)]
    customer = UserFactory()
    event = EventFactory()
    seats = [SeatFactory(event=event, label=f"F{n}") for n in range(5)]
    booking = paid_booking(user=customer, event=event)
    now = timezone.now()
    job = Job.objects.create(
        task="jobs.noop",
        queue="default",
        status=JobStatus.FAILED,
        created_at=now,
        scheduled_for=now,
    )
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.create(name="contract-tick", task="jobs.noop", interval=every_hour)
    return {
        "tokens": {
            "^/api/jobs/": token(staff),
            "^/api/waitlist/": token(membership.user),
            "^/api/tickets/": token(customer),
        },
        # read by the hooks
        "slot": holds[0].slot_id,
        "seats": [str(seat.id) for seat in seats],
        "path": {
            "tenant": membership.tenant.slug,
            "event_id": str(event.id),
            "booking_id": str(booking.id),
            "job_id": str(job.id),
            "queue": "default",
            "name": "contract-tick",
        },
    }


def write_config(path: Path, tokens: dict[str, str]) -> None:
    """schemathesis.toml: each API with its own identity."""
    lines = []
    for path_regex, token in tokens.items():
        lines += [
            "[[operations]]",
            f"include-path-regex = {json.dumps(path_regex)}",
            f"headers = {{ Authorization = {json.dumps(f'Bearer {token}')} }}",
            "",
        ]
    path.write_text("\n".join(lines))


@pytest.mark.slow
# The run's own bound (below), not the suite's 300 s: on a loaded 2-core machine every
# phase over every operation can take longer than that, and a timeout says nothing of the API.
@pytest.mark.timeout(1260)
def test_the_api_answers_exactly_as_its_schema_says_under_every_schemathesis_check(
    contract_world, live_server, tmp_path
):
    # Given the project served over HTTP, the three identities and real objects
    config = tmp_path / "schemathesis.toml"
    write_config(config, contract_world.pop("tokens"))
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/schema/?format=json",
        "--checks",
        "all",
        "--max-examples",
        os.environ.get("CONTRACT_MAX_EXAMPLES", "10"),
        "--seed",
        SEED,
        "--workers",
        "1",
        "--generation-allow-x00",
        "false",
        "--no-color",
    ]
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "SCHEMA_CONTRACT_WORLD": json.dumps(contract_world),
    }

    # When Schemathesis runs every phase and every check over every operation
    started = time.monotonic()
    run = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=1200
    )
    output = f"{run.stdout}{run.stderr}\n(ran in {time.monotonic() - started:.0f} s)\n"
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text(output)

    # Then it found nothing: no failure of any check, no error
    assert run.returncode == 0, f"schemathesis failed; whole output in {LOG}\n{output[-15000:]}"
    assert "Tested: " in run.stdout and " passed" in run.stdout


# --- Regressions of what the contract found ---------------------------------------------------
@pytest.fixture
def staff_api(django_user_model):
    staff = django_user_model.objects.create_user("op", "op@example.com", "pw", is_staff=True)
    return jwt_client(staff)


@pytest.fixture
def tenant_api():
    from waitlist.tests.factories import MembershipFactory

    membership = MembershipFactory()
    client = jwt_client(membership.user)
    client.base = f"/api/waitlist/tenants/{membership.tenant.slug}"
    client.tenant = membership.tenant
    return client


@pytest.fixture
def schema(staff_api) -> dict:
    return json.loads(staff_api.get("/api/schema/?format=json").content)


def request_schema(schema: dict, path: str, method: str = "post") -> dict:
    content = schema["paths"][path][method]["requestBody"]["content"]
    reference = content["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][reference.rsplit("/", 1)[1]]


def parameter(schema: dict, path: str, name: str, method: str = "get") -> dict:
    parameters = schema["paths"][path][method]["parameters"]
    return next(p for p in parameters if p["name"] == name)["schema"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/jobs/?limit=",
        "/api/jobs/?status=",
        "/api/jobs/?task=",
        "/api/jobs/?queue=",
        "/api/jobs/queues/default/jobs?status=",
        "/api/jobs/failed?offset=",
        "/api/tickets/events/?limit=",
    ],
)
def test_a_blank_query_parameter_is_a_400_not_left_out(staff_api, url):
    response = staff_api.get(url)

    assert response.status_code == 400, response.content
    name = url.rsplit("?", 1)[1].rstrip("=")
    assert name in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/jobs/?limit=1&limit=abc",
        "/api/tickets/events/?offset=null&offset=null",
        "/api/tickets/bookings/?limit=2&limit=3",
    ],
)
def test_a_repeated_query_parameter_is_a_400(staff_api, url):
    response = staff_api.get(url)

    assert response.status_code == 400, response.content
    assert "give this parameter once" in json.dumps(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=501", "offset=-1", "offset=x"])
def test_pagination_refuses_what_its_schema_refuses(staff_api, tenant_api, query, schema):
    # DRF's LimitOffsetPagination read all of these silently as "no value" or as 500.
    for url in ["/api/tickets/events/", "/api/tickets/bookings/", "/api/waitlist/tenants/"]:
        client = tenant_api if url.startswith("/api/waitlist/") else staff_api
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, response.content)
        assert query.split("=")[0] in response.json()

    assert parameter(schema, "/api/tickets/events/", "limit") == {
        "type": "integer",
        "minimum": 1,
        "maximum": 500,
    }
    assert parameter(schema, "/api/tickets/events/", "offset") == {"type": "integer", "minimum": 0}


@pytest.mark.django_db
def test_pagination_within_its_bounds_still_pages(tenant_api):
    from waitlist.tests.factories import SlotFactory

    for _ in range(3):
        SlotFactory(tenant=tenant_api.tenant)

    page = tenant_api.get(f"{tenant_api.base}/slots/?limit=2&offset=1").json()
    past_the_end = tenant_api.get(f"{tenant_api.base}/slots/?offset=99999999999999999999").json()

    assert page["count"] == 3 and len(page["results"]) == 2
    assert past_the_end["results"] == []


@pytest.mark.django_db
def test_bulk_enqueue_of_no_jobs_is_a_400_and_the_schema_says_at_least_one(staff_api, schema):
    response = staff_api.post("/api/jobs/bulk/", {"jobs": []}, format="json")

    assert response.status_code == 400
    assert "jobs" in response.json()
    jobs = request_schema(schema, "/api/jobs/bulk/")["properties"]["jobs"]
    assert (jobs["minItems"], jobs["maxItems"]) == (1, 1000)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "seat_ids",
    [
        [False],
        [0],
        [5],
        ["e3e70682c2091caca29f6fbed82c07cd"],
        ["{e3e70682-c209-1cac-a29f-6fbed82c07cd}"],
    ],
)
def test_seat_ids_are_uuid_strings_only(seat_ids):
    from tickets.tests.factories import EventFactory, UserFactory

    client = jwt_client(UserFactory())
    event = EventFactory()

    lock = client.post(
        f"/api/tickets/events/{event.id}/seats/lock/", {"seat_ids": seat_ids}, format="json"
    )
    booking = client.post(
        "/api/tickets/bookings/", {"event_id": str(event.id), "seat_ids": seat_ids}, format="json"
    )

    assert lock.status_code == 400 and "seat_ids" in lock.json(), lock.content
    assert booking.status_code == 400 and "seat_ids" in booking.json(), booking.content


@pytest.mark.django_db
def test_seat_ids_are_documented_as_distinct(schema):
    seat_ids = request_schema(schema, "/api/tickets/events/{event_id}/seats/lock/")["properties"][
        "seat_ids"
    ]

    assert seat_ids["uniqueItems"] is True
    assert seat_ids["items"] == {"type": "string", "format": "uuid"}


@pytest.mark.django_db
def test_the_seat_lock_answer_is_documented_as_it_is_sent(schema):
    response = schema["paths"]["/api/tickets/events/{event_id}/seats/lock/"]["post"]["responses"]
    reference = response["201"]["content"]["application/json"]["schema"]["$ref"]

    assert set(schema["components"]["schemas"][reference.rsplit("/", 1)[1]]["properties"]) == {
        "locks",
        "expires_at",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Ann", "email": "ann@example.com", "phone": 0}, "phone"),
        ({"name": 5, "email": "ann@example.com"}, "name"),
        ({"name": "Ann", "email": "ann@example.com", "priority": "5"}, "priority"),
        ({"name": "Ann", "email": "ann@example.com", "slot": "1"}, "slot"),
    ],
)
def test_a_json_value_of_the_wrong_type_is_a_400_not_converted(tenant_api, body, field):
    response = tenant_api.post(f"{tenant_api.base}/entries/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.django_db
def test_json_booleans_and_strings_are_not_read_from_other_types(staff_api):
    from tests.support.ledger_rows import make_job

    job = make_job(status="failed", finished_ago=timedelta(minutes=1))

    retry = staff_api.post(f"/api/jobs/{job.id}/retry", {"reset_attempts": "true"}, format="json")
    expired = staff_api.post("/api/jobs/expired-holds/trigger/", {"tenant": 5}, format="json")

    assert retry.status_code == 400 and "reset_attempts" in retry.json()
    assert expired.status_code == 400 and "tenant" in expired.json()


@pytest.mark.django_db
def test_form_bodies_are_still_read_as_text(tenant_api):
    # Forms carry only text: "5" is the number 5 there, as before.
    response = tenant_api.post(
        f"{tenant_api.base}/entries/", {"name": "Ann", "email": "ann@example.com", "priority": "5"}
    )

    assert response.status_code == 201, response.content
    assert response.json()["priority"] == 5


@pytest.mark.django_db
def test_queue_and_task_names_are_documented_as_the_enums_they_are_checked_against(
    staff_api, schema
):
    from jobs.ledger.queues import known_queues

    enqueue = request_schema(schema, "/api/jobs/")["properties"]
    queue_enum = schema["components"]["schemas"]["QueueEnum"]["enum"]
    task_enum = schema["components"]["schemas"]["TaskEnum"]["enum"]

    assert set(queue_enum) == known_queues()
    assert "jobs.noop" in task_enum and not any(t.startswith("celery.") for t in task_enum)
    assert "QueueEnum" in json.dumps(enqueue["queue"]) and "TaskEnum" in json.dumps(enqueue["task"])
    assert staff_api.get("/api/jobs/?queue=0").status_code == 400
    assert staff_api.post("/api/jobs/", {"task": "0"}, format="json").status_code == 400
    assert staff_api.post("/api/jobs/", {"task": " jobs.noop"}, format="json").status_code == 400
    assert staff_api.get("/api/jobs/?queue=default").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("priority", "status"),
    [("high", 201), ("High", 201), ("BATCH", 201), (1, 201), (5, 201), (2.0, 201)]
    + [(" high ", 400), ("3", 400), ("urgent", 400), (0, 400), (6, 400), (True, 400)],
)
def test_priority_accepts_exactly_what_its_schema_says(staff_api, schema, priority, status):
    import re

    response = staff_api.post(
        "/api/jobs/", {"task": "jobs.noop", "priority": priority}, format="json"
    )

    assert response.status_code == status, response.content
    string, integer = request_schema(schema, "/api/jobs/")["properties"]["priority"]["oneOf"]
    documented = (
        isinstance(priority, str) and re.search(string["pattern"], priority) is not None
    ) or (not isinstance(priority, bool | str) and 1 <= priority <= 5)
    assert documented == (status == 201)


@pytest.mark.django_db
def test_delay_and_run_at_together_are_refused_and_documented_so(staff_api, schema):
    both = {"task": "jobs.noop", "delay": 1000, "run_at": "2030-01-01T00:00:00Z"}
    one_null = {"task": "jobs.noop", "delay": 1000, "run_at": None}

    assert staff_api.post("/api/jobs/", both, format="json").status_code == 400
    assert staff_api.post("/api/jobs/", one_null, format="json").status_code == 201
    rules = request_schema(schema, "/api/jobs/")["allOf"]
    assert ["delay", "run_at"] in [rule.get("not", {}).get("required") for rule in rules]


@pytest.mark.django_db
def test_null_arguments_are_accepted_as_the_schema_allows(staff_api):
    body = {"task": "jobs.noop", "args": [None, 1], "kwargs": {"x": None}}

    response = staff_api.post("/api/jobs/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["args"] == [None, 1] and response.json()["kwargs"] == {"x": None}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cron", "status"),
    [
        ("0 2 * * *", 200),
        ("*/15 0-6,22 1-31/2 1-12 mon-fri", 200),
        ("5-2/3 * * * sun", 200),
        ("0", 400),
        ("61 * * * *", 400),
        ("* * * * *\n", 400),
        (" * * * * *", 400),
        ("* * * * 7", 400),
        ("*/0 * * * *", 400),
    ],
)
def test_cron_preview_accepts_exactly_its_documented_pattern(staff_api, schema, cron, status):
    import re

    response = staff_api.get("/api/jobs/scheduler/preview", {"cron": cron})

    assert response.status_code == status, response.content
    pattern = parameter(schema, "/api/jobs/scheduler/preview", "cron")["pattern"]
    # The pattern is ECMA-262 (JSON Schema's): there, $ does not match before a newline.
    assert (re.search(pattern.replace("$", r"\Z"), cron) is not None) == (status == 200)


@pytest.mark.django_db
def test_cron_preview_timezones_are_an_enum_of_the_zones_it_knows(staff_api, schema):
    zones = parameter(schema, "/api/jobs/scheduler/preview", "tz")["enum"]

    assert {"UTC", "Europe/Berlin", "Asia/Tokyo"} <= set(zones)
    for zone in zones[::50]:
        answer = staff_api.get("/api/jobs/scheduler/preview", {"cron": "0 2 * * *", "tz": zone})
        assert answer.status_code == 200, (zone, answer.content)
    unknown = staff_api.get(
        "/api/jobs/scheduler/preview", {"cron": "0 2 * * *", "tz": "Mars/Olympus"}
    )
    assert unknown.status_code == 400 and "tz" in unknown.json()


@pytest.mark.django_db
def test_an_entry_with_sms_and_no_phone_is_refused_and_documented_so(tenant_api, schema):
    response = tenant_api.post(
        f"{tenant_api.base}/entries/",
        {"name": "Ann", "email": "ann@example.com", "channel": "sms"},
        format="json",
    )

    assert response.status_code == 400 and "phone" in response.json()
    entry = request_schema(schema, "/api/waitlist/tenants/{tenant}/entries/")
    assert entry["anyOf"][1]["required"] == ["phone"]


@pytest.mark.django_db
def test_request_bodies_are_documented_as_json_only(schema):
    media_types = {
        media_type
        for item in schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "requestBody" in operation
        for media_type in operation["requestBody"]["content"]
    }

    assert media_types == {"application/json"}
