"""The API conventions every app shares, tried over HTTP as a client would: one URL style
(both forms of a path answer; an unknown /api/ path answers JSON), one error shape, one
pagination style (?limit=&offset=)."""

import pytest
from django.test import override_settings

from jobs.models import JobStatus
from tests.support.ledger_rows import make_jobs

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "documented, other",
    [
        ("/api/jobs/status", "/api/jobs/status/"),  # documented without the slash
        ("/api/jobs/queues", "/api/jobs/queues/"),
        ("/api/tickets/events/", "/api/tickets/events"),  # documented with it
        ("/api/waitlist/tenants/", "/api/waitlist/tenants"),
    ],
)
def test_every_api_path_answers_in_both_forms(staff_api, documented, other):
    first, second = staff_api.get(documented), staff_api.get(other)
    assert first.status_code == second.status_code == 200, (first.content, second.content)
    assert first.json() == second.json()


def test_a_post_to_the_other_form_keeps_its_body_and_is_served_in_place(staff_api):
    # No redirect: a client that guesses the wrong form still creates its job.
    created = staff_api.post("/api/jobs", {"task": "jobs.noop"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["task"] == "jobs.noop"


@override_settings(DEBUG=True)
def test_an_unknown_api_path_answers_json_404_even_with_debug_on(client):
    # With DEBUG Django would show its HTML "Page not found" page.
    for path in ("/api/nothing-here", "/api/jobs/not-a-job-id/nothing-here/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_state_conflict_names_its_code_and_a_bad_value_names_its_field(staff_api):
    (finished,) = make_jobs(1, status=JobStatus.COMPLETED)
    conflict = staff_api.post(f"/api/jobs/{finished.id}/cancel")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict" and conflict.json()["detail"]

    bad = staff_api.post("/api/jobs/", {"task": "jobs.noop", "queue": "nope"}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"queue": ["unknown queue 'nope'"]}


def test_job_lists_page_with_limit_and_offset(staff_api):
    make_jobs(5, status=JobStatus.FAILED)
    everything = staff_api.get("/api/jobs/", {"status": "failed"}).json()
    first = staff_api.get("/api/jobs/", {"status": "failed", "limit": 2}).json()
    rest = staff_api.get("/api/jobs/", {"status": "failed", "limit": 2, "offset": 2}).json()
    assert [j["id"] for j in first + rest] == [j["id"] for j in everything[:4]]
    failed = staff_api.get("/api/jobs/failed", {"limit": 3, "offset": 3}).json()
    assert [j["id"] for j in failed] == [j["id"] for j in everything[3:5]]
    refused = staff_api.get("/api/jobs/", {"offset": -1})
    assert refused.status_code == 400 and "offset" in refused.json()
