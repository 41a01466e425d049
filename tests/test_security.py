"""Bad input and security: the API fuzzed from its own schema, tenants, auth, signed links.

What already lives elsewhere and is only referenced here (not repeated):

- jobs API: 401/403 per endpoint and a junk-input sweep, jobs/tests/web/test_api.py (security);
- waitlist: 404 for each object of another tenant through every endpoint and lists without
  foreign objects, waitlist/tests/test_api.py; signed links (tampered, expired, used,
  cross-tenant, wrong purpose, unknown tenant, rate limited), waitlist/tests/test_links.py;
- tickets: another user's booking is 404, tickets/tests/test_api.py;
- Flower 401 without credentials, a pickled task message refused, ``check --deploy`` clean:
  tests/test_foundation.py (marked ``security``).

Run alone with ``make test ARGS="-m security"``.
"""

import re

import pytest
import schemathesis
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.security


# --- Schemathesis over /api/schema/ ---------------------------------------------------------
@pytest.fixture
def fuzz_world(transactional_db):
    """A staff user who is also staff of a tenant, and a few objects of each kind.

    The fuzzer's random ids mostly answer 404; the ids here let it also reach real objects
    (see ``known_path_parameters``). Real commits (transactional_db), as in production, so a
    view that breaks its transaction shows up as the 500 it would be.
    """
    from django.utils import timezone
    from django_celery_beat.models import IntervalSchedule, PeriodicTask
    from rest_framework_simplejwt.tokens import RefreshToken

    from jobs.models import Job, JobStatus
    from tickets.tests.factories import EventFactory, SeatFactory, StaffFactory, paid_booking
    from waitlist.tests.factories import HoldFactory, MembershipFactory, SlotFactory

    staff = StaffFactory()
    tenant = MembershipFactory(user=staff).tenant
    holds = [HoldFactory(slot=SlotFactory(tenant=tenant)) for _ in range(3)]
    event = EventFactory()
    for n in range(5):
        SeatFactory(event=event, label=f"F{n}")
    booking = paid_booking(user=staff, event=event)
    now = timezone.now()
    jobs = {
        status: Job.objects.create(
            task="jobs.noop", queue="default", status=status, created_at=now, scheduled_for=now
        )
        for status in (JobStatus.FAILED, JobStatus.DELAYED, JobStatus.COMPLETED)
    }
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.create(name="fuzz-tick", task="jobs.noop", interval=every_hour)
    return {
        "token": str(RefreshToken.for_user(staff).access_token),
        "tenant": tenant.slug,
        "slots": [h.slot_id for h in holds],
        "entries": [h.entry_id for h in holds],
        "holds": [h.pk for h in holds],
        "event": str(event.id),
        "booking": str(booking.id),
        "jobs": [str(job.id) for job in jobs.values()],
    }


def known_path_parameters(path: str, world: dict, index: int) -> dict:
    """Path parameters naming real objects of ``world`` (the index-th of each kind)."""
    kind = next((k for k in ("slots", "entries", "holds") if f"/{k}/{{id}}" in path), None)
    values = {
        "tenant": world["tenant"],
        "id": world[kind][index % 3] if kind else None,
        "event_id": world["event"],
        "booking_id": world["booking"],
        "job_id": world["jobs"][index % 3],
        "queue": "default",
        "name": "release-expired-locks" if path.startswith("/api/tickets/") else "fuzz-tick",
    }
    return {name: values[name] for name in values if f"{{{name}}}" in path}


@pytest.fixture
def api_schema(fuzz_world):
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json",
        application,
        headers={"Authorization": f"Bearer {fuzz_world['token']}"},
    )


# Every answer: no 5xx; its status documented; its body, headers and content type as the
# schema says for that status.
FUZZ_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Examples per operation and mode: bounded so the whole run stays well under two minutes.
EXAMPLES = {"random": 10, "known": 10, "negative": 8}


def fuzz(operation, kind: str, headers: dict, found: dict, path_parameters=None) -> None:
    """Run ``EXAMPLES[kind]`` generated cases against one operation and record in ``found``
    the first example of each distinct (operation, failure, status).

    Failures are recorded, not raised, so Hypothesis does not spend the budget shrinking one
    of them and every operation still gets all its examples.
    """
    mode = GenerationMode.NEGATIVE if kind == "negative" else GenerationMode.POSITIVE
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers=headers)
        checks = FUZZ_CHECKS
        if mode == GenerationMode.NEGATIVE and response.status_code == 404:
            try:
                resolve(case.formatted_path)
            except Resolver404:
                # A path parameter made invalid (a job_id that is no UUID) matches no route
                # at all: Django's own 404 page answers before any API view is reached.
                checks = [not_a_server_error]
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (operation.label, kind, failure.title, response.status_code)
                found.setdefault(key, f"{case.as_curl_command()[:400]}\n{failure.message}")

    try:
        run()
    except Unsatisfiable:
        # An operation without inputs has no invalid input to generate; its positive cases
        # still ran.
        assert mode == GenerationMode.NEGATIVE, operation.label


def test_api_fuzzed_from_its_schema_gives_no_5xx_and_no_schema_violation(api_schema, fuzz_world):
    # Given every operation of the project's OpenAPI schema, and a staff token
    headers = {"Authorization": f"Bearer {fuzz_world['token']}"}
    # (.ok() raises for an operation Schemathesis cannot use: none is skipped silently)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    documented = [
        (method, path)
        for path, item in api_schema.raw_schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) == len(documented) >= 69

    # When each is called with generated valid input (random ids, and ids of real objects)
    # and with generated invalid input
    found: dict = {}
    for index, operation in enumerate(operations):
        fuzz(operation, "random", headers, found)
        known = known_path_parameters(operation.path, fuzz_world, index)
        if known:
            fuzz(operation, "known", headers, found, path_parameters=known)
        fuzz(operation, "negative", headers, found)

    # Then no answer was a 5xx or differed from the schema
    report = [f"{' | '.join(map(str, key))}\n    {example}" for key, example in found.items()]
    assert not found, f"{len(found)} distinct failure(s):\n" + "\n".join(report)


# --- Regressions of what the fuzzer found --------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/jobs/failed/clear", "/api/jobs/queues/default/clean"])
def test_a_grace_too_large_for_date_arithmetic_is_400_not_500(url):
    from rest_framework.test import APIClient

    from tickets.tests.factories import StaffFactory

    client = APIClient()
    client.force_authenticate(StaffFactory())
    response = client.post(url, {"grace": 10**40}, format="json")

    assert response.status_code == 400
    assert "grace" in response.json()


@pytest.mark.django_db
def test_more_form_fields_than_django_accepts_is_a_json_400(settings):
    from rest_framework.test import APIClient

    from tickets.tests.factories import StaffFactory

    client = APIClient()
    client.force_authenticate(StaffFactory())
    fields = "&".join(f"job_ids={i}" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.post(
        "/api/jobs/failed/retry", fields, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


# --- Tenant isolation sweep ------------------------------------------------------------------
def jwt_client(user):
    """A client that logs in through /api/auth/token/ like a real user."""
    from rest_framework.test import APIClient

    from waitlist.tests.factories import PASSWORD

    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    ).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def handled_methods(view_class) -> list[str]:
    return [
        m
        for m in view_class.http_method_names
        if m not in ("options", "head") and hasattr(view_class, m)
    ]


# Which object of tenant B each waitlist route with a <pk> is about, and a valid body for each
# write, so that a 404 comes from the tenant scoping and not from bad input. Every route must
# be listed: a new route fails the sweep until it is added here.
OBJECT_OF_ROUTE = {
    "slot-detail": "slot",
    "slot-cancel": "slot",
    "entry-detail": "entry",
    "entry-cancel": "entry",
    "hold-detail": "hold",
    "hold-confirm": "hold",
    "hold-decline": "hold",
}
BODY_OF_ROUTE = {
    "slot-list": {"title": "Smuggled slot"},
    "entry-list": {"name": "Mallory", "email": "mallory@example.test"},
}
# Job routes name their objects in the body (the waitlist job system's trigger paths).
FOREIGN_JOB_BODY = {
    "expired-holds-trigger": lambda b: {"tenant": b["tenant"].slug},
    "cascade-trigger": lambda b: {"slot_id": b["slot"].pk, "reason": "declined"},
    "notification-retry": lambda b: {"notification_id": b["notification"].pk},
    # Global (every tenant): platform staff only, so tenant staff get 403, not 404.
    "cleanup-trigger": None,
}


@pytest.fixture
def two_tenants(db):
    from waitlist.tests.factories import (
        HoldFactory,
        MembershipFactory,
        NotificationFactory,
        SlotFactory,
    )

    mine = MembershipFactory()
    own_hold = HoldFactory(slot=SlotFactory(tenant=mine.tenant, title="Our table"))
    theirs = MembershipFactory()
    hold = HoldFactory(slot=SlotFactory(tenant=theirs.tenant, title="Their secret table"))
    notification = NotificationFactory(hold=hold)
    return {
        "user": mine.user,
        "tenant": mine.tenant,
        "own_hold": own_hold,
        "b": {
            "tenant": theirs.tenant,
            "slot": hold.slot,
            "entry": hold.entry,
            "hold": hold,
            "notification": notification,
        },
    }


def test_tenant_staff_get_404_for_every_object_of_another_tenant_on_every_route(two_tenants):
    from django.urls import reverse

    from jobs.models import Job
    from waitlist import urls, urls_jobs
    from waitlist.models import AuditLog, EntryStatus, HoldStatus, SlotStatus

    # Given staff of tenant A, logged in with a JWT, and the objects of tenant B
    client = jwt_client(two_tenants["user"])
    a, b = two_tenants["tenant"], two_tenants["b"]
    audits = AuditLog.objects.count()
    answers = {}

    # When they ask every tenant-scoped route for tenant B's objects, with every method:
    # under B's slug, and (for routes with an id) B's ids under their own slug
    for pattern in urls.urlpatterns:
        route = str(pattern.pattern)
        if "<slug:tenant>" not in route:
            continue
        kind = OBJECT_OF_ROUTE.get(pattern.name)
        assert ("<int:pk>" in route) == (kind is not None), f"add {pattern.name} to the sweep"
        variants = [b["tenant"].slug] + ([a.slug] if kind else [])
        for slug in variants:
            kwargs = {"tenant": slug, **({"pk": b[kind].pk} if kind else {})}
            url = reverse(f"waitlist:{pattern.name}", kwargs=kwargs)
            for method in handled_methods(pattern.callback.cls):
                body = BODY_OF_ROUTE.get(pattern.name, {})
                answers[(method, url)] = getattr(client, method)(url, body, format="json")
    # ... and every job route with tenant B's objects in the body
    for pattern in urls_jobs.urlpatterns:
        assert pattern.name in FOREIGN_JOB_BODY, f"add {pattern.name} to the sweep"
        body = FOREIGN_JOB_BODY[pattern.name]
        url = reverse(f"waitlist-jobs:{pattern.name}")
        response = client.post(url, body(b) if body else {}, format="json")
        answers[("post", url)] = response
        if body is None:
            assert response.status_code == 403, (url, response.content)

    # Then every answer is 404, and nothing of tenant B changed
    wrong = {
        k: (r.status_code, r.content[:200]) for k, r in answers.items() if r.status_code != 404
    }
    assert set(wrong) == {("post", reverse("waitlist-jobs:cleanup-trigger"))}, wrong
    assert len(answers) >= 24
    for name in ("hold", "slot", "entry"):
        b[name].refresh_from_db()
    assert b["hold"].status == HoldStatus.ACTIVE
    assert b["slot"].status == SlotStatus.OPEN
    assert b["entry"].status == EntryStatus.WAITING
    assert b["tenant"].slots.count() == 1 and b["tenant"].entries.count() == 1
    assert AuditLog.objects.count() == audits
    assert not Job.objects.exists()


def test_nothing_of_another_tenant_appears_in_any_list(two_tenants):
    import json

    from django.urls import reverse

    from waitlist import urls

    # Given staff of tenant A and a tenant B with a slot, an entry, a hold, a notification
    client = jwt_client(two_tenants["user"])
    a, b = two_tenants["tenant"], two_tenants["b"]
    foreign = {
        b["tenant"].slug,
        b["tenant"].name,
        b["slot"].title,
        b["entry"].email,
        b["entry"].name,
    }

    # When they read every list route (and every route without an id) of their own tenant
    bodies = {}
    for pattern in urls.urlpatterns:
        if "<int:pk>" in str(pattern.pattern) or "get" not in handled_methods(pattern.callback.cls):
            continue
        kwargs = {"tenant": a.slug} if "<slug:tenant>" in str(pattern.pattern) else {}
        response = client.get(reverse(f"waitlist:{pattern.name}", kwargs=kwargs))
        assert response.status_code == 200, pattern.name
        bodies[pattern.name] = json.dumps(response.json())

    # Then their own objects are there and nothing of tenant B is
    assert {"tenant-list", "tenant-detail", "slot-list", "entry-list", "hold-list"} <= set(bodies)
    assert "Our table" in bodies["slot-list"]
    for name, body in bodies.items():
        leaked = [value for value in foreign if value in body]
        assert not leaked, (name, leaked)


# --- Authentication and authorisation over the whole URL resolver ---------------------------
def all_routes():
    """(path, view callback) of every URL the project serves, with each path
    parameter filled with a syntactically valid value."""
    from django.urls import URLPattern, URLResolver, get_resolver

    samples = {
        "int": "1",
        "slug": "some-slug",
        "str": "some-name",
        "uuid": "7d5eb85d-63a0-4504-bc27-d92cde384cd4",
        "path": "some/path",
    }

    def concrete(route: str) -> str:
        route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: samples[m.group(1) or "str"], route)
        return route.lstrip("^").replace("/?$", "").replace("$", "").replace("\\", "")

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + concrete(str(pattern.pattern))
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield "/" + route, pattern.callback

    return list(walk(get_resolver().url_patterns, ""))


# Public on purpose, each with its reason. Everything else must refuse anonymous callers.
PUBLIC = {
    "/healthz": "health probe for load balancers; says only up/down per component",
    "/api/auth/token/": "login",
    "/api/auth/token/refresh/": "refresh (needs a valid refresh token)",
    "/api/auth/logout/": "logout (needs the refresh token it revokes)",
    "/api/schema/": "OpenAPI document (no data)",
    "/api/docs/": "Swagger UI for the schema",
    "/api/tickets/events/": "event listing for customers (the ticketing job system)",
    "/api/tickets/events/<uuid>/": "event page for customers",
    "/api/tickets/events/<uuid>/seats/": "seat map for customers",
    "/waitlist/<slug>/offers/confirm/<str>/": "signed link from an offer email",
    "/waitlist/<slug>/offers/decline/<str>/": "signed link from an offer email",
}


def public_key(path: str) -> str:
    return (
        path.replace("7d5eb85d-63a0-4504-bc27-d92cde384cd4", "<uuid>")
        .replace("some-slug", "<slug>")
        .replace("some-name", "<str>")
    )


@pytest.mark.django_db
def test_every_non_public_endpoint_refuses_anonymous_401_and_non_staff_403():
    from rest_framework.permissions import AllowAny, IsAuthenticated
    from rest_framework.test import APIClient
    from rest_framework.views import APIView

    from tickets.tests.factories import UserFactory

    anonymous = APIClient()
    plain_user = jwt_client(UserFactory())  # signed in, not staff, no tenant
    public, checked, staff_only = set(), [], set()

    for path, callback in all_routes():
        view_class = getattr(callback, "cls", None)
        if path.startswith("/admin/"):
            continue  # Django admin: its own login page, checked below
        if view_class is None or not issubclass(view_class, APIView):
            if path == "/metrics":
                continue  # IP allow-list or staff, checked below
            public.add(public_key(path))  # a plain Django view: must be public on purpose
            continue
        permissions = [p() for p in view_class.permission_classes]
        if all(isinstance(p, AllowAny) for p in permissions):
            public.add(public_key(path))
            continue
        needs_staff = any(not isinstance(p, (IsAuthenticated, AllowAny)) for p in permissions)
        for method in handled_methods(view_class):
            anon = getattr(anonymous, method)(path, {}, format="json")
            user = getattr(plain_user, method)(path, {}, format="json")
            checked.append((method, path))
            # Given no token: 401; given a non-staff user's token where staff is needed: 403
            assert anon.status_code == 401, (method, path, anon.status_code)
            assert "WWW-Authenticate" in anon
            if needs_staff:
                staff_only.add(path)
                assert user.status_code == 403, (method, path, user.status_code)
            else:
                assert user.status_code not in (401, 403), (method, path, user.status_code)

    assert public == set(PUBLIC), "a new public endpoint? add it to PUBLIC with its reason"
    assert len(checked) >= 55
    # The classification itself: the job administration and ticket back office are staff-only.
    assert {"/api/jobs/", "/api/jobs/failed/retry", "/api/tickets/check-in/"} <= staff_only
    assert "/api/waitlist/tenants/" not in staff_only


@pytest.mark.django_db
def test_admin_and_metrics_refuse_anonymous_callers_and_non_staff():
    from django.test import Client

    from tickets.tests.factories import UserFactory
    from waitlist.tests.factories import PASSWORD

    outsider = Client(REMOTE_ADDR="203.0.113.9")  # not in JOBS_METRICS_ALLOWED_IPS
    assert outsider.get("/metrics").status_code == 401
    user = UserFactory()
    outsider.login(username=user.username, password=PASSWORD)
    assert outsider.get("/metrics").status_code == 403
    admin = Client().get("/admin/")
    assert admin.status_code == 302 and "/admin/login/" in admin["Location"]
    signed_in = Client()
    signed_in.login(username=user.username, password=PASSWORD)
    assert signed_in.get("/admin/jobs/job/").status_code == 302  # not staff: to the login


@pytest.mark.django_db
def test_a_rotated_refresh_token_used_again_is_401():
    from rest_framework.test import APIClient

    from tickets.tests.factories import UserFactory
    from waitlist.tests.factories import PASSWORD

    client = APIClient()
    user = UserFactory()
    pair = client.post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    ).json()

    rotated = client.post("/api/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    replayed = client.post("/api/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")

    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != pair["refresh"]  # rotation
    assert replayed.status_code == 401  # the used one is blacklisted
    assert replayed.json()["code"] == "token_not_valid"
    fresh = client.post(
        "/api/auth/token/refresh/", {"refresh": rotated.json()["refresh"]}, format="json"
    )
    assert fresh.status_code == 200
    assert (
        client.post("/api/auth/token/", {"username": user.username, "password": "x"}).status_code
        == 401
    )


# --- Signed links: every attack on both purposes ---------------------------------------------
# waitlist/tests/test_links.py covers these for the confirm link (and a confirm token used as
# a decline link, an unknown tenant, rate limiting); this matrix adds the decline link and GET.
LINK_ATTACKS = {"tampered": 400, "expired": 410, "other-tenant": 400, "reused": 409}


def ledger_snapshot(hold) -> tuple:
    from jobs.models import Job
    from waitlist.models import AuditLog, Notification

    hold.refresh_from_db()
    hold.slot.refresh_from_db()
    hold.entry.refresh_from_db()
    return (
        hold.status,
        hold.slot.status,
        hold.entry.status,
        AuditLog.objects.count(),
        Notification.objects.count(),
        Job.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("purpose", ["confirm", "decline"])
@pytest.mark.parametrize("attack", list(LINK_ATTACKS))
def test_a_bad_signed_link_is_refused_and_changes_nothing(client, purpose, attack):
    from datetime import timedelta
    from urllib.parse import urlsplit

    import time_machine
    from django.utils import timezone

    from waitlist import links
    from waitlist.tests.factories import HoldFactory, SlotFactory, TenantFactory

    # Given a live offer and its signed link, attacked one way
    hold = HoldFactory(slot=SlotFactory(tenant=TenantFactory()))
    url = urlsplit(
        links.hold_link_url(hold=hold, purpose=purpose, tenant_slug=hold.tenant.slug)
    ).path
    now = timezone.now()
    if attack == "tampered":  # one character of the signature changed
        token = url.rstrip("/").rsplit("/", 1)[1]
        forged = token[:-10] + ("x" if token[-10] != "x" else "y") + token[-9:]
        url = url.replace(token, forged)
    elif attack == "expired":
        now = hold.expires_at + timedelta(seconds=1)
    elif attack == "other-tenant":  # a genuine token under another business's address
        url = url.replace(f"/{hold.tenant.slug}/", f"/{TenantFactory().slug}/", 1)
    elif attack == "reused":
        assert client.post(url).status_code == 200  # the first use works
    before = ledger_snapshot(hold)

    # When it is opened and submitted
    with time_machine.travel(now):
        opened = client.get(url)
        submitted = client.post(url)

    # Then both are refused, and nothing changed
    assert (opened.status_code, submitted.status_code) == (LINK_ATTACKS[attack],) * 2
    assert ledger_snapshot(hold) == before
