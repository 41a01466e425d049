"""Per-job options through the REST API (POST /api/jobs/ and /api/jobs/bulk/), their 400s
naming the field, and a job's attempts history in GET /api/jobs/{id}."""

import pytest
from django.utils import timezone

from jobs.models import Job, JobStatus
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db


def test_enqueue_with_bullmq_job_options_stores_them(staff_api):
    response = staff_api.post(
        "/api/jobs/",
        {
            "task": "jobs.noop",
            "attempts": 4,
            "backoff": {"type": "fixed", "delay": 1500},
            "timeout": 30,
            "remove_on_complete": {"age": 3600, "count": 100},
            "remove_on_fail": True,
            "job_key": "order-7",
            "unique_for": 600,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    job = Job.objects.get(id=response.json()["id"])
    assert job.max_attempts == 4
    assert job.backoff == {"type": "fixed", "delay": 1500}
    assert job.hard_time_limit == 30
    assert job.remove_on_complete == {"age": 3600, "count": 100}
    assert job.remove_on_fail is True
    detail = staff_api.get(f"/api/jobs/{job.id}").json()
    assert detail["backoff"] == {"type": "fixed", "delay": 1500}
    assert detail["remove_on_fail"] is True and detail["attempts_history"] == []


def test_enqueue_within_the_dedupe_window_answers_200_with_the_completed_job(staff_api):
    payload = {"task": "jobs.noop", "job_key": "webhook-77", "unique_for": 3600}
    first = staff_api.post("/api/jobs/", payload, format="json")
    Job.objects.filter(id=first.json()["id"]).update(
        status=JobStatus.COMPLETED, finished_at=timezone.now()
    )

    second = staff_api.post("/api/jobs/", payload, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]


def test_bulk_enqueue_takes_the_options_per_job(staff_api):
    response = staff_api.post(
        "/api/jobs/bulk/",
        {
            "jobs": [
                {"task": "jobs.noop", "remove_on_complete": 10},
                {"task": "jobs.noop", "backoff": {"delay": 200}, "timeout": 5},
            ]
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    first, second = (Job.objects.get(id=j["id"]) for j in response.json()["jobs"])
    assert first.remove_on_complete == {"count": 10}
    assert second.backoff == {"type": "exponential", "delay": 200}
    assert second.hard_time_limit == 5


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"backoff": {"type": "linear"}}, "backoff"),
        ({"backoff": {"type": "fixed", "delay": -5}}, "backoff"),
        ({"backoff": "fast"}, "backoff"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": "10"}, "timeout"),
        ({"timeout": 10**7}, "timeout"),  # beyond the broker's visibility timeout
        ({"remove_on_complete": {"age": -1}}, "remove_on_complete"),
        ({"remove_on_complete": {"keep": 5}}, "remove_on_complete"),
        ({"remove_on_complete": "yes"}, "remove_on_complete"),
        ({"remove_on_fail": {}}, "remove_on_fail"),
        ({"unique_for": 60}, "unique_for"),  # no job_key
        ({"unique_for": 60, "job_key": ""}, "unique_for"),
        ({"unique_for": 0, "job_key": "k"}, "unique_for"),
        ({"attempts": 0}, "attempts"),
        ({"attempts": 2, "max_attempts": 3}, "attempts"),
    ],
)
def test_bad_job_options_are_400_naming_the_field(staff_api, payload, field):
    response = staff_api.post("/api/jobs/", {"task": "jobs.noop", **payload}, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Job.objects.exists()


def test_bulk_enqueue_with_a_bad_option_names_the_job_and_field(staff_api):
    response = staff_api.post(
        "/api/jobs/bulk/",
        {"jobs": [{"task": "jobs.noop"}, {"task": "jobs.noop", "unique_for": 5}]},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["jobs"]
    second = errors[1] if isinstance(errors, list) else errors["1"]
    assert "unique_for" in second
    assert not Job.objects.exists()


def test_openapi_schema_documents_the_job_options():
    from django.urls import include, path
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator(patterns=[path("api/jobs/", include("jobs.web.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    request = components["EnqueueRequest"]["properties"]
    assert {"attempts", "backoff", "timeout", "remove_on_complete", "remove_on_fail"} <= set(
        request
    )
    assert "unique_for" in request
    assert "attempts_history" in components["JobDetail"]["properties"]


@pytest.mark.integration
def test_a_job_that_failed_twice_then_succeeded_shows_two_attempts_in_its_history(
    worker, staff_api
):
    created = staff_api.post(
        "/api/jobs/",
        {"task": "jobs.fail", "args": [2], "backoff": {"type": "fixed", "delay": 100}},
        format="json",
    ).json()
    wait_for(
        lambda: Job.objects.filter(id=created["id"], status=JobStatus.COMPLETED).exists(),
        timeout=30,
    )

    body = staff_api.get(f"/api/jobs/{created['id']}").json()

    history = body["attempts_history"]
    assert [(a["number"], a["outcome"]) for a in history] == [(1, "retried"), (2, "retried")]
    assert all("DiagnosticFailure" in a["error"] and a["traceback"] for a in history)
    assert all(a["worker"] and a["started_at"] and a["finished_at"] for a in history)
    # The successful third attempt is the job itself.
    assert body["attempts"] == 3 and body["status"] == "completed" and body["worker"]
