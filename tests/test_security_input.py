"""Hostile request bodies, from the attacker's side: real HTTP requests through the test client.

- JSON nested ~1,000 deep made DRF's parser raise ``RecursionError``: a 500 (and an email to
  the admins) for anyone, without a token, on every JSON endpoint. Now every JSON body is
  refused past ``API_JSON_MAX_DEPTH`` (32) levels with a 400 saying so, before a view sees it
  (``jobs.web.parsers``).
- A NUL character or a lone surrogate in a job's ``args``/``kwargs`` was a 500; on SQLite the
  row was committed anyway and every job list answered 500 until it was removed. Now any such
  string in a JSON body (key or value, at any depth) is a 400 naming its path, and
  ``job_build`` refuses it from the Python API too (``.delay()``, ``enqueue_many``).

Run alone with ``make test ARGS="-m security"``.
"""

import json

import pytest
from rest_framework.test import APIClient

from tests.support.auth import jwt_client

pytestmark = [pytest.mark.security, pytest.mark.django_db]

DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("operator", "op@example.com", "pw", is_staff=True)


@pytest.fixture
def staff_api(staff) -> APIClient:
    return jwt_client(staff)


def post_raw(client: APIClient, url: str, body: str):
    """The body exactly as written: JSON escapes such as ``\\u0000`` reach the parser as text."""
    return client.post(url, data=body.encode(), content_type="application/json")


def job_count() -> int:
    from jobs.models import Job

    return Job.objects.count()


# --- 1. nesting depth ------------------------------------------------------------------------
@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_to_the_login_endpoint_is_a_400_without_a_token(body, mailoutbox):
    # Given nobody signed in (no token at all)
    client = APIClient()

    # When they send JSON nested 1,000 levels deep to the login endpoint
    response = post_raw(client, "/api/auth/token/", body)

    # Then the answer is a JSON 400 naming the problem; no 500, no email to the admins
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "json_too_deep"
    assert "nested deeper than 32" in response.json()["detail"]
    assert mailoutbox == []


JSON_ENDPOINTS = [
    "/api/jobs/",
    "/api/jobs/bulk/",
    "/api/jobs/failed/retry",
    "/api/jobs/queues/default/clean",
    "/api/jobs/expired-holds/trigger/",
    "/api/auth/token/refresh/",
    "/api/tickets/bookings/",
    "/api/tickets/check-in/",
]


@pytest.mark.parametrize("url", JSON_ENDPOINTS)
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(staff_api, url, mailoutbox):
    response = post_raw(staff_api, url, DEEP_ARRAY)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "json_too_deep"
    assert mailoutbox == []


def test_deeply_nested_json_is_refused_by_the_waitlist_api_too():
    from waitlist.tests.factories import MembershipFactory

    membership = MembershipFactory()
    client = jwt_client(membership.user)

    response = post_raw(
        client, f"/api/waitlist/tenants/{membership.tenant.slug}/slots/", DEEP_ARRAY
    )

    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"


def test_a_hundred_thousand_levels_are_refused_quickly(staff_api):
    import time

    body = "[" * 100_000 + "]" * 100_000
    started = time.monotonic()
    response = post_raw(staff_api, "/api/jobs/", body)

    assert response.status_code == 400
    assert time.monotonic() - started < 2


def nested(depth: int) -> object:
    """A value of ``depth`` nested arrays: nested(1) == [0]."""
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def test_a_body_nested_exactly_to_the_limit_is_accepted(staff_api):
    # The body object is level 1, "args" level 2: 30 more arrays inside make 32.
    body = {"task": "jobs.noop", "args": [nested(30)]}

    response = staff_api.post("/api/jobs/", body, format="json")

    assert response.status_code == 201, response.content[:300]
    assert response.json()["args"] == [nested(30)]


def test_one_level_beyond_the_limit_is_refused(staff_api):
    body = {"task": "jobs.noop", "args": [nested(31)]}

    response = staff_api.post("/api/jobs/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"
    assert job_count() == 0


def test_brackets_inside_strings_do_not_count_as_nesting(staff_api):
    body = {
        "task": "jobs.noop",
        "args": ["[" * 5000, "{" * 5000, 'a "quoted" ]]] \\ ['],
        "kwargs": {},
    }

    response = staff_api.post("/api/jobs/", body, format="json")

    assert response.status_code == 201, response.content[:300]
    assert response.json()["args"][0] == "[" * 5000


def test_the_depth_limit_is_a_setting(staff_api, settings):
    settings.API_JSON_MAX_DEPTH = 3

    shallow = staff_api.post("/api/jobs/", {"task": "jobs.noop", "args": [[1]]}, format="json")
    deep = staff_api.post("/api/jobs/", {"task": "jobs.noop", "args": [[[1]]]}, format="json")

    assert shallow.status_code == 201
    assert deep.status_code == 400
    assert "nested deeper than 3" in deep.json()["detail"]


@pytest.mark.parametrize(
    "body", ["{", '{"task": "jobs.noop",', "[1, 2", '"\\ud800', "NaN", '{"a": Infinity}']
)
def test_malformed_json_is_still_a_400(staff_api, body):
    response = post_raw(staff_api, "/api/jobs/", body)

    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize("charset", ["rot13", "utf-16", "utf-32"])
def test_a_body_in_a_charset_it_is_not_in_is_a_400_not_a_500(staff_api, charset):
    # rot13 is a codec but no text encoding: DRF's own parser answered 500 to it.
    response = staff_api.post(
        "/api/jobs/",
        data=b'{"task": "jobs.noop"}',
        content_type=f"application/json; charset={charset}",
    )

    assert response.status_code == 400, response.content[:300]
    assert job_count() == 0


# --- 2. strings that cannot be stored ------------------------------------------------------
UNSTORABLE_JOB_BODIES = [
    # (raw JSON body, the field named, the path in the message)
    ('{"task": "jobs.noop", "args": ["\\ud800"]}', "args", "args[0]"),
    ('{"task": "jobs.noop", "args": ["a\\u0000b"]}', "args", "args[0]"),
    ('{"task": "jobs.noop", "kwargs": {"\\u0000": 1}}', "kwargs", 'kwargs["\\u0000"]'),
    ('{"task": "jobs.noop", "kwargs": {"x": {"y": [1, "\\udfff"]}}}', "kwargs", "kwargs.x.y[1]"),
    ('{"task": "jobs.noop", "kwargs": {"\\udc80key": "v"}}', "kwargs", 'kwargs["\\udc80key"]'),
    ('{"task": "jobs.noop", "job_key": "k\\u0000"}', "job_key", "job_key"),
]


@pytest.mark.parametrize(("body", "field", "path"), UNSTORABLE_JOB_BODIES)
def test_unstorable_strings_in_a_job_are_a_400_naming_the_field(staff_api, body, field, path):
    # When an operator's client sends a job whose arguments hold a NUL or a lone surrogate
    response = post_raw(staff_api, "/api/jobs/", body)

    # Then it is a 400 that names the field and the path inside it
    assert response.status_code == 400, response.content[:300]
    answer = response.json()
    assert answer["field"] == field
    assert answer["path"] == path
    assert answer[field] == [answer["detail"]]
    assert answer["detail"].startswith(path)
    assert answer["code"] == "unstorable_value"
    # And nothing reached the database: the job lists still answer
    assert job_count() == 0
    assert staff_api.get("/api/jobs/").status_code == 200


def test_unstorable_strings_in_a_bulk_enqueue_create_no_job(staff_api):
    body = '{"jobs": [{"task": "jobs.noop"}, {"task": "jobs.noop", "args": ["\\u0000"]}]}'

    response = post_raw(staff_api, "/api/jobs/bulk/", body)

    assert response.status_code == 400
    assert response.json()["path"] == "jobs[1].args[0]"
    assert response.json()["field"] == "jobs"
    assert job_count() == 0


def test_a_bad_top_level_key_is_named_without_echoing_it_as_a_field(staff_api):
    response = post_raw(staff_api, "/api/jobs/", '{"task": "jobs.noop", "\\u0000": 1}')

    assert response.status_code == 400
    answer = response.json()
    assert "field" not in answer
    assert answer["path"] == '["\\u0000"]'


def test_a_valid_surrogate_pair_and_other_unicode_are_accepted(staff_api):
    # \ud83d\ude00 is one character (an emoji), not a lone surrogate.
    body = '{"task": "jobs.noop", "args": ["\\ud83d\\ude00", "caf\\u00e9", "\\u0001"]}'

    response = post_raw(staff_api, "/api/jobs/", body)

    assert response.status_code == 201, response.content[:300]
    assert response.json()["args"] == ["\U0001f600", "café", "\x01"]


def test_unstorable_strings_are_refused_by_the_product_apis_too():
    from tickets.tests.factories import UserFactory
    from waitlist.tests.factories import MembershipFactory

    membership = MembershipFactory()
    waitlist = jwt_client(membership.user)
    entries = f"/api/waitlist/tenants/{membership.tenant.slug}/entries/"
    response = post_raw(waitlist, entries, '{"name": "Ann\\u0000", "email": "ann@example.com"}')
    assert response.status_code == 400
    assert response.json()["field"] == "name"

    tickets = jwt_client(UserFactory())
    response = post_raw(tickets, "/api/tickets/bookings/", '{"event_id": "\\ud800"}')
    assert response.status_code == 400
    assert response.json()["field"] == "event_id"


def test_the_login_endpoint_refuses_unstorable_strings_without_a_token():
    response = post_raw(
        APIClient(), "/api/auth/token/", '{"username": "\\u0000", "password": "\\ud800"}'
    )

    assert response.status_code == 400
    assert response.json()["field"] == "username"


# --- 2b. the Python API -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("a\x00b",), {}, "args"),
        (("\ud800",), {}, "args"),
        ((), {"\x00": 1}, "kwargs"),
        ((), {"deep": {"list": [1, "x\udfff"]}}, "kwargs"),
        ((float("nan"),), {}, "args"),
        ((), {"limit": float("inf")}, "kwargs"),
    ],
)
def test_delay_with_an_unstorable_argument_fails_at_enqueue_naming_it(args, kwargs, field):
    from jobs import InvalidInput
    from jobs.tasks import noop

    with pytest.raises(InvalidInput) as refused:
        noop.delay(*args, **kwargs)

    assert refused.value.field == field
    assert job_count() == 0


def test_enqueue_many_refuses_a_batch_with_an_unstorable_argument():
    from jobs import InvalidInput, JobSpec, enqueue_many

    specs = [JobSpec(task="jobs.noop", args=[1]), JobSpec(task="jobs.noop", args=["ok", "\x00"])]
    with pytest.raises(InvalidInput) as refused:
        enqueue_many(specs)

    assert refused.value.field == "args"
    assert "args[1]" in refused.value.message
    assert job_count() == 0


def test_a_form_encoded_job_with_a_nul_is_refused_by_the_ledger(staff_api):
    # Form bodies do not pass the JSON parser; job_build still refuses what they carry.
    response = staff_api.post(
        "/api/jobs/", "task=jobs.noop&args=a%00b", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert "args" in response.json()
    assert job_count() == 0


def test_a_job_with_ordinary_arguments_is_still_enqueued():
    from jobs.tasks import noop

    result = noop.delay("text", 1, 2.5, None, [1, {"a": "b"}], key="value")

    assert result.job.args == ["text", 1, 2.5, None, [1, {"a": "b"}]]
    assert json.dumps(result.job.kwargs) == '{"key": "value"}'
