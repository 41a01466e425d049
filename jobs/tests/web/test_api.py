"""The job administration REST API (/api/jobs/): every endpoint's success path, its auth
(401 without a token, 403 for non-staff) and its bad input (400 naming the field, 404)."""

import json
import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.models import Job, JobStatus, QueueState
from tests.support.ledger_rows import make_job, make_jobs
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db

SOME_ID = "0190f0e0-0000-7000-8000-000000000000"

# Every endpoint, with a request that would succeed for staff (or at least pass auth).
ENDPOINTS = [
    ("get", "/api/jobs/"),
    ("post", "/api/jobs/"),
    ("post", "/api/jobs/bulk/"),
    ("get", "/api/jobs/health"),
    ("get", "/api/jobs/metrics"),
    ("get", "/api/jobs/status"),
    ("get", "/api/jobs/queues"),
    ("get", "/api/jobs/queues/default"),
    ("get", "/api/jobs/queues/default/jobs"),
    ("get", f"/api/jobs/queues/default/jobs/{SOME_ID}"),
    ("delete", f"/api/jobs/queues/default/jobs/{SOME_ID}"),
    ("post", f"/api/jobs/queues/default/jobs/{SOME_ID}/retry"),
    ("post", "/api/jobs/queues/default/pause"),
    ("post", "/api/jobs/queues/default/resume"),
    ("post", "/api/jobs/queues/default/clean"),
    ("post", "/api/jobs/pause"),
    ("post", "/api/jobs/resume"),
    ("get", "/api/jobs/failed"),
    ("post", "/api/jobs/failed/clear"),
    ("post", "/api/jobs/failed/retry"),
    ("get", "/api/jobs/active"),
    ("get", "/api/jobs/scheduler"),
    ("get", "/api/jobs/scheduler/preview?cron=*/5+*+*+*+*"),
    ("get", "/api/jobs/scheduler/preview-every?every=30"),
    ("get", "/api/jobs/scheduler/some.schedule"),
    ("post", "/api/jobs/scheduler/some.schedule/start"),
    ("post", "/api/jobs/scheduler/some.schedule/stop"),
    ("post", "/api/jobs/scheduler/some.schedule/run"),
    ("get", f"/api/jobs/{SOME_ID}"),
    ("delete", f"/api/jobs/{SOME_ID}"),
    ("post", f"/api/jobs/{SOME_ID}/retry"),
    ("post", f"/api/jobs/{SOME_ID}/cancel"),
    ("post", f"/api/jobs/{SOME_ID}/run"),
    ("get", f"/api/jobs/default/{SOME_ID}"),
    ("post", f"/api/jobs/default/{SOME_ID}/retry"),
]


# --- auth ------------------------------------------------------------------------------------
@pytest.mark.security
@pytest.mark.parametrize(("method", "url"), ENDPOINTS, ids=[f"{m} {u}" for m, u in ENDPOINTS])
def test_every_endpoint_answers_401_without_a_token_and_403_for_non_staff(
    method, url, anon_api, plain_api
):
    anonymous = getattr(anon_api, method)(url, {}, format="json")
    assert anonymous.status_code == 401, anonymous.content
    assert "Bearer" in anonymous["WWW-Authenticate"]

    customer = getattr(plain_api, method)(url, {}, format="json")
    assert customer.status_code == 403, customer.content


@pytest.mark.security
def test_invalid_or_expired_token_is_401(anon_api, staff_user):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert anon_api.get("/api/jobs/metrics").status_code == 401


def test_staff_user_gets_in_with_a_token_from_the_token_endpoint(anon_api, staff_user):
    tokens = anon_api.post(
        "/api/auth/token/",
        {"username": "operator", "password": "operator-password"},
        format="json",
    ).json()
    anon_api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert anon_api.get("/api/jobs/status").status_code == 200


# --- enqueue -------------------------------------------------------------------------------
JOB_FIELDS = {
    "id",
    "task",
    "args",
    "kwargs",
    "queue",
    "priority",
    "status",
    "attempts",
    "max_attempts",
    "job_key",
    "progress",
    "result",
    "error",
    "created_at",
    "scheduled_for",
    "started_at",
    "finished_at",
}


def test_enqueue_a_registered_task_answers_201_with_the_job(staff_api):
    response = staff_api.post(
        "/api/jobs/",
        {
            "task": "jobs.sleep",
            "kwargs": {"seconds": 0.1},
            "queue": "default",
            "priority": "high",
            "delay": 60000,
            "max_attempts": 3,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= JOB_FIELDS
    assert body["task"] == "jobs.sleep" and body["kwargs"] == {"seconds": 0.1}
    assert body["priority"] == "HIGH" and body["status"] == "delayed"
    assert body["max_attempts"] == 3 and body["attempts"] == 0
    job = Job.objects.get(id=body["id"])
    assert 59 <= (job.scheduled_for - job.created_at).total_seconds() <= 61
    assert response["Location"] == f"/api/jobs/{job.id}"


def test_enqueue_uses_the_task_defaults_and_run_at(staff_api):
    run_at = timezone.now() + timedelta(hours=2)
    body = staff_api.post(
        "/api/jobs/",
        {"task": "jobs.fail", "args": [1], "run_at": run_at.isoformat()},
        format="json",
    ).json()
    assert body["queue"] == "default" and body["max_attempts"] == 5
    assert body["status"] == "delayed" and body["args"] == [1]


def test_enqueue_with_the_key_of_a_live_job_answers_200_with_that_job(staff_api):
    payload = {"task": "jobs.noop", "job_key": "order-42", "delay": 60000}
    first = staff_api.post("/api/jobs/", payload, format="json")
    second = staff_api.post("/api/jobs/", payload, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Job.objects.filter(job_key="order-42").count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"task": "no.such.task"}, "task"),
        ({"task": "celery.backend_cleanup"}, "task"),
        ({"task": "jobs.echo"}, "task"),  # a plain Celery task: not a ledger job
        ({}, "task"),
        ({"task": "jobs.noop", "priority": "URGENT"}, "priority"),
        ({"task": "jobs.noop", "priority": 9}, "priority"),
        ({"task": "jobs.noop", "priority": True}, "priority"),
        ({"task": "jobs.noop", "delay": -1}, "delay"),
        ({"task": "jobs.noop", "delay": "soon"}, "delay"),
        ({"task": "jobs.noop", "queue": "nope"}, "queue"),
        ({"task": "jobs.noop", "max_attempts": 0}, "max_attempts"),
        ({"task": "jobs.noop", "args": {"not": "a list"}}, "args"),
        ({"task": "jobs.noop", "kwargs": [1, 2]}, "kwargs"),
        ({"task": "jobs.noop", "run_at": "yesterday-ish"}, "run_at"),
        ({"task": "jobs.noop", "delay": 5, "run_at": "2030-01-01T00:00:00Z"}, "run_at"),
        ({"task": "jobs.noop", "delay": 10**18}, "delay"),
    ],
)
def test_enqueue_rejects_bad_input_with_400_naming_the_field(staff_api, payload, field):
    response = staff_api.post("/api/jobs/", payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Job.objects.exists()


def test_malformed_json_is_400(staff_api):
    response = staff_api.post("/api/jobs/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_bulk_enqueue_creates_all_jobs(staff_api):
    response = staff_api.post(
        "/api/jobs/bulk/",
        {
            "jobs": [{"task": "jobs.noop", "args": [i], "priority": "LOW"} for i in range(3)]
            + [{"task": "jobs.noop", "job_key": "bulk-key", "delay": 1000}]
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["count"] == 4
    assert Job.objects.count() == 4
    assert Job.objects.filter(priority=4).count() == 3


def test_bulk_enqueue_with_one_bad_job_creates_none(staff_api):
    response = staff_api.post(
        "/api/jobs/bulk/",
        {"jobs": [{"task": "jobs.noop"}, {"task": "jobs.noop", "queue": "nope"}]},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["jobs"]
    second = errors[1] if isinstance(errors, list) else errors["1"]
    assert "queue" in second
    assert not Job.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"jobs": []}, {"jobs": "x"}])
def test_bulk_enqueue_needs_a_list_of_jobs(staff_api, payload):
    response = staff_api.post("/api/jobs/bulk/", payload, format="json")
    assert response.status_code == 400 and "jobs" in response.json()


# --- one job -----------------------------------------------------------------------------------
def test_job_detail_includes_traceback_and_404s_for_unknown_jobs(staff_api):
    job = make_job(status=JobStatus.FAILED, error="ValueError: boom", traceback="Traceback ...")

    body = staff_api.get(f"/api/jobs/{job.id}").json()
    assert body["id"] == str(job.id) and body["error"] == "ValueError: boom"
    assert body["traceback"] == "Traceback ..."

    assert staff_api.get(f"/api/jobs/{uuid.uuid4()}").status_code == 404
    assert staff_api.get("/api/jobs/not-a-uuid").status_code == 404


def test_job_detail_by_queue_and_id_matches_the_queue(staff_api):
    job = make_job(queue="waitlist.holds")

    assert staff_api.get(f"/api/jobs/waitlist.holds/{job.id}").status_code == 200
    assert staff_api.get(f"/api/jobs/default/{job.id}").status_code == 404
    assert staff_api.get(f"/api/jobs/queues/waitlist.holds/jobs/{job.id}").status_code == 200
    assert staff_api.get(f"/api/jobs/queues/default/jobs/{job.id}").status_code == 404


def test_retry_a_failed_job_makes_it_waiting_again(staff_api):
    job = make_job(status=JobStatus.FAILED, error="boom", attempts=3)

    response = staff_api.post(f"/api/jobs/{job.id}/retry")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "waiting" and response.json()["attempts"] == 0
    job.refresh_from_db()
    assert job.status == JobStatus.WAITING and job.error == ""


def test_retry_by_queue_and_id_on_both_path_forms_checks_the_queue(staff_api):
    first = make_job(status=JobStatus.FAILED)
    second = make_job(status=JobStatus.FAILED)

    assert staff_api.post(f"/api/jobs/default/{first.id}/retry").status_code == 200
    assert staff_api.post(f"/api/jobs/queues/default/jobs/{second.id}/retry").status_code == 200
    assert staff_api.post(f"/api/jobs/waitlist.holds/{first.id}/retry").status_code == 404


def test_retry_of_a_running_job_is_409_and_of_an_unknown_job_404(staff_api):
    active = make_job(status=JobStatus.ACTIVE)
    conflict = staff_api.post(f"/api/jobs/{active.id}/retry")
    assert conflict.status_code == 409
    assert conflict.json() == {
        "detail": f"job {active.id} is active; only finished jobs can be retried",
        "code": "conflict",
    }
    assert staff_api.post(f"/api/jobs/{uuid.uuid4()}/retry").status_code == 404
    bad = staff_api.post(f"/api/jobs/{active.id}/retry", {"reset_attempts": "maybe"}, format="json")
    assert bad.status_code == 400 and "reset_attempts" in bad.json()


def test_cancel_a_delayed_job_and_refuse_a_finished_one(staff_api):
    delayed = make_job(status=JobStatus.DELAYED)
    done = make_job(status=JobStatus.COMPLETED)

    response = staff_api.post(f"/api/jobs/{delayed.id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert staff_api.post(f"/api/jobs/{done.id}/cancel").status_code == 409
    assert staff_api.post(f"/api/jobs/{uuid.uuid4()}/cancel").status_code == 404


def test_run_now_makes_a_delayed_job_due(staff_api):
    delayed = make_job(status=JobStatus.DELAYED)
    waiting = make_job(status=JobStatus.WAITING)

    assert staff_api.post(f"/api/jobs/{delayed.id}/run").status_code == 200
    delayed.refresh_from_db()
    assert delayed.scheduled_for <= timezone.now()
    assert staff_api.post(f"/api/jobs/{waiting.id}/run").status_code == 409


def test_delete_removes_a_job_but_not_a_running_one(staff_api):
    done = make_job(status=JobStatus.COMPLETED)
    active = make_job(status=JobStatus.ACTIVE)
    other = make_job(status=JobStatus.FAILED)

    assert staff_api.delete(f"/api/jobs/{done.id}").status_code == 204
    assert not Job.objects.filter(id=done.id).exists()
    assert staff_api.delete(f"/api/jobs/{done.id}").status_code == 404
    assert staff_api.delete(f"/api/jobs/{active.id}").status_code == 409
    assert staff_api.delete(f"/api/jobs/queues/waitlist.holds/jobs/{other.id}").status_code == 404
    assert staff_api.delete(f"/api/jobs/queues/default/jobs/{other.id}").status_code == 204


# --- lists -----------------------------------------------------------------------------------
def test_failed_and_active_lists_are_newest_first_and_limited(staff_api):
    make_jobs(3, status=JobStatus.FAILED, queue="tickets.email")
    make_jobs(2, status=JobStatus.ACTIVE)
    make_jobs(2, status=JobStatus.COMPLETED)

    failed = staff_api.get("/api/jobs/failed?limit=2").json()
    assert len(failed) == 2 and {j["status"] for j in failed} == {"failed"}
    assert failed[0]["created_at"] >= failed[1]["created_at"]
    assert len(staff_api.get("/api/jobs/failed").json()) == 3
    assert {j["status"] for j in staff_api.get("/api/jobs/active").json()} == {"active"}


def test_without_a_limit_failed_and_active_list_50_and_a_queues_jobs_10(staff_api):
    # The EVE Nomad admin API's defaults: /failed?limit=50, /active?limit=50, and a queue's
    # jobs "limit: Number of jobs to return (default: 10)".
    make_jobs(51, status=JobStatus.FAILED)
    make_jobs(51, status=JobStatus.ACTIVE)
    make_jobs(11, status=JobStatus.WAITING, queue="tickets.email")

    assert len(staff_api.get("/api/jobs/failed").json()) == 50
    assert len(staff_api.get("/api/jobs/active").json()) == 50
    assert len(staff_api.get("/api/jobs/queues/tickets.email/jobs?status=waiting").json()) == 10


@pytest.mark.parametrize("url", ["/api/jobs/failed", "/api/jobs/active", "/api/jobs/"])
@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "1e9"])
def test_limit_out_of_range_is_400(staff_api, url, limit):
    response = staff_api.get(f"{url}?limit={limit}")
    assert response.status_code == 400 and "limit" in response.json()


def test_job_list_filters_by_status_queue_and_task(staff_api):
    make_job(status=JobStatus.FAILED, queue="tickets.email", task="jobs.sleep")
    make_job(status=JobStatus.FAILED)
    make_job(status=JobStatus.WAITING)

    body = staff_api.get("/api/jobs/?status=failed&queue=tickets.email&task=jobs.sleep").json()
    assert len(body) == 1 and body[0]["queue"] == "tickets.email"
    assert staff_api.get("/api/jobs/?status=nope").status_code == 400
    assert "queue" in staff_api.get("/api/jobs/?queue=nope").json()


def test_queue_jobs_by_status(staff_api):
    make_jobs(3, status=JobStatus.WAITING)
    make_job(status=JobStatus.FAILED)
    make_job(status=JobStatus.WAITING, queue="tickets.email")

    waiting = staff_api.get("/api/jobs/queues/default/jobs?status=waiting&limit=2").json()
    assert len(waiting) == 2 and {j["queue"] for j in waiting} == {"default"}
    assert len(staff_api.get("/api/jobs/queues/default/jobs").json()) == 4
    # "paused" lists the waiting jobs a paused queue holds back.
    assert staff_api.get("/api/jobs/queues/default/jobs?status=paused").json() == []
    QueueState.objects.create(name="default", paused=True)
    assert len(staff_api.get("/api/jobs/queues/default/jobs?status=paused").json()) == 3

    assert staff_api.get("/api/jobs/queues/default/jobs?status=bogus").status_code == 400
    assert staff_api.get("/api/jobs/queues/nope/jobs").status_code == 404


# --- metrics, status, health --------------------------------------------------------------------
def test_queue_metrics_count_every_status_and_time_the_last_hour(staff_api):
    make_jobs(2, status=JobStatus.WAITING)
    make_job(status=JobStatus.ACTIVE)
    make_job(status=JobStatus.DELAYED)
    make_job(status=JobStatus.COMPLETED, run_ms=100)
    make_job(status=JobStatus.COMPLETED, run_ms=300)
    make_job(status=JobStatus.COMPLETED, run_ms=5000, finished_ago=timedelta(hours=3))
    make_job(status=JobStatus.FAILED)

    body = staff_api.get("/api/jobs/queues/default").json()

    assert body["queueName"] == "default"
    assert (body["waiting"], body["active"], body["delayed"]) == (2, 1, 1)
    assert (body["completed"], body["failed"], body["total"]) == (3, 1, 8)
    assert body["completionRate"] == 37.5 and body["failureRate"] == 12.5
    # Only the last hour's completed jobs are timed: (100 + 300) / 2
    assert body["avgProcessingTime"] == pytest.approx(200, abs=1)
    assert body["p95ProcessingTime"] == pytest.approx(290, abs=1)
    assert body["lastHour"] == {"completed": 2, "failed": 1, "failureRate": 33.33}
    assert body["brokerDepth"] == 0 and body["isPaused"] is False
    assert body["rateLimit"] is None
    assert staff_api.get("/api/jobs/queues/nope").status_code == 404


def test_metrics_summarise_all_queues(staff_api):
    make_jobs(2, status=JobStatus.COMPLETED)
    make_job(status=JobStatus.FAILED, queue="tickets.email")
    make_job(status=JobStatus.WAITING, queue="waitlist.holds")

    body = staff_api.get("/api/jobs/metrics").json()

    assert {q["queueName"] for q in body["queues"]} >= {"default", "tickets.email"}
    assert (body["totalJobs"], body["completedJobs"], body["failedJobs"]) == (4, 2, 1)
    assert body["waitingJobs"] == 1 and body["activeJobs"] == 0
    assert body["overallCompletionRate"] == 50.0 and body["overallFailureRate"] == 25.0
    queues = staff_api.get("/api/jobs/queues").json()
    assert [q["queueName"] for q in queues] == [q["queueName"] for q in body["queues"]]


def test_status_reports_counts_and_pauses(staff_api):
    make_job(status=JobStatus.WAITING)
    staff_api.post("/api/jobs/queues/tickets.email/pause")

    body = staff_api.get("/api/jobs/status").json()

    assert body["queues"]["default"]["waiting"] == 1
    assert body["queues"]["tickets.email"]["isPaused"] is True
    assert body["paused"] is False and body["healthy"] is False  # no worker in this test
    assert body["workers"] == 0


def test_health_lists_queue_issues_and_open_alerts(staff_api):
    from jobs.models import Alert

    QueueState.objects.create(name="tickets.email", paused=True)
    now = timezone.now()
    Alert.objects.create(
        rule="queue_backlog",
        subject="default",
        message="5000 jobs waiting",
        opened_at=now,
        last_seen_at=now,
    )

    body = staff_api.get("/api/jobs/health").json()

    assert body["healthy"] is False
    assert body["queues"]["total"] >= 9 and body["queues"]["unhealthy"] == 1
    assert any("tickets.email is paused" in i for i in body["queues"]["issues"])
    assert body["workers"]["active"] == 0
    assert body["workers"]["issues"] == ["no worker has sent a heartbeat recently"]
    assert {"total", "running", "stopped", "missed", "issues"} <= set(body["scheduledJobs"])
    assert [a["message"] for a in body["alerts"]] == ["5000 jobs waiting"]


# --- queue controls ----------------------------------------------------------------------
def test_pause_and_resume_one_queue(staff_api):
    response = staff_api.post("/api/jobs/queues/tickets.email/pause")
    assert response.json() == {"queue": "tickets.email", "paused": True}
    assert QueueState.objects.get(name="tickets.email").paused

    response = staff_api.post("/api/jobs/queues/tickets.email/resume")
    assert response.status_code == 200 and response.json()["paused"] is False
    assert not QueueState.objects.get(name="tickets.email").paused
    assert staff_api.post("/api/jobs/queues/nope/pause").status_code == 404
    assert staff_api.post("/api/jobs/queues/nope/resume").status_code == 404


def test_pause_and_resume_all_queues(staff_api):
    assert staff_api.post("/api/jobs/pause").json() == {"queue": "*", "paused": True}
    assert QueueState.objects.get(name=QueueState.ALL).paused
    assert staff_api.get("/api/jobs/status").json()["paused"] is True
    assert staff_api.get("/api/jobs/queues/default").json()["isPaused"] is True

    assert staff_api.post("/api/jobs/resume").json()["paused"] is False
    assert not QueueState.objects.get(name=QueueState.ALL).paused


def test_clean_removes_old_jobs_of_one_status_on_one_queue(staff_api):
    old = make_jobs(3, status=JobStatus.COMPLETED, finished_ago=timedelta(hours=2))
    recent = make_job(status=JobStatus.COMPLETED, finished_ago=timedelta(minutes=1))
    other_queue = make_job(
        status=JobStatus.COMPLETED, queue="tickets.email", finished_ago=timedelta(hours=2)
    )

    response = staff_api.post(
        "/api/jobs/queues/default/clean",
        {"grace": 3_600_000, "status": "completed", "limit": 2},
        format="json",
    )

    assert response.status_code == 200 and response.json() == {"removed": 2}
    assert Job.objects.filter(id__in=[j.id for j in old]).count() == 1
    assert Job.objects.filter(id__in=[recent.id, other_queue.id]).count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "active"}, "status"),
        ({"grace": -1}, "grace"),
        ({"limit": 0}, "limit"),
        ({"grace": "an hour"}, "grace"),
    ],
)
def test_clean_rejects_bad_input(staff_api, payload, field):
    response = staff_api.post("/api/jobs/queues/default/clean", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert staff_api.post("/api/jobs/queues/nope/clean", {}, format="json").status_code == 404


def test_failed_clear_removes_failed_jobs(staff_api):
    make_jobs(2, status=JobStatus.FAILED)
    kept = make_job(status=JobStatus.FAILED, queue="tickets.email")
    make_job(status=JobStatus.COMPLETED)

    response = staff_api.post("/api/jobs/failed/clear", {"queue": "default"}, format="json")
    assert response.json() == {"removed": 2}
    assert list(Job.objects.filter(status=JobStatus.FAILED)) == [kept]
    assert staff_api.post("/api/jobs/failed/clear").json() == {"removed": 1}
    bad = staff_api.post("/api/jobs/failed/clear", {"queue": "nope"}, format="json")
    assert bad.status_code == 400 and "queue" in bad.json()


def test_failed_retry_in_bulk(staff_api):
    failed = make_jobs(3, status=JobStatus.FAILED)
    make_job(status=JobStatus.FAILED, queue="tickets.email")
    # A failed job whose key is held by a live job cannot be retried: it is reported.
    make_job(status=JobStatus.WAITING, job_key="k1")
    blocked = make_job(status=JobStatus.FAILED, job_key="k1")

    response = staff_api.post("/api/jobs/failed/retry", {"queue": "default"}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert set(body["retried"]) == {str(j.id) for j in failed}
    assert [s["id"] for s in body["skipped"]] == [str(blocked.id)]
    assert Job.objects.filter(status=JobStatus.FAILED).count() == 2

    by_id = staff_api.post(
        "/api/jobs/failed/retry", {"job_ids": [str(blocked.id)], "limit": 5}, format="json"
    )
    assert by_id.json()["retried"] == []
    bad = staff_api.post("/api/jobs/failed/retry", {"job_ids": ["x"]}, format="json")
    assert bad.status_code == 400 and "job_ids" in bad.json()


# --- scheduler -----------------------------------------------------------------------------------
@pytest.fixture
def schedule():
    crontab = CrontabSchedule.objects.create(minute="*/5", hour="*", timezone="Europe/Berlin")
    return PeriodicTask.objects.create(
        name="reports.nightly",
        task="jobs.noop",
        crontab=crontab,
        kwargs=json.dumps({}),
        queue="default",
    )


def test_scheduler_summary_start_stop_and_run(staff_api, schedule):
    summary = staff_api.get("/api/jobs/scheduler").json()
    assert summary["total"] == 1 and summary["running"] == 1
    entry = summary["jobs"][0]
    assert entry["name"] == "reports.nightly" and entry["cron"] == "*/5 * * * *"
    assert entry["next_run"] is not None

    stopped = staff_api.post("/api/jobs/scheduler/reports.nightly/stop")
    assert stopped.status_code == 200 and stopped.json()["enabled"] is False
    assert staff_api.get("/api/jobs/scheduler").json()["stopped"] == 1
    started = staff_api.post("/api/jobs/scheduler/reports.nightly/start")
    assert started.json()["enabled"] is True

    run = staff_api.post("/api/jobs/scheduler/reports.nightly/run")
    assert run.status_code == 202
    assert Job.objects.get(id=run.json()["job_id"]).task == "jobs.noop"


@pytest.mark.parametrize("action", ["start", "stop", "run"])
def test_unknown_schedule_is_404(staff_api, action):
    assert staff_api.post(f"/api/jobs/scheduler/no.such/{action}").status_code == 404


def test_cron_preview_lists_the_next_fire_times(staff_api):
    body = staff_api.get(
        "/api/jobs/scheduler/preview", {"cron": "0 2 * * *", "tz": "Europe/Berlin", "n": 3}
    ).json()
    assert len(body["next"]) == 3 and all("T02:00:00+0" in t for t in body["next"])
    assert body["description"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * *"}, "cron"),
        ({"cron": "not a cron at all"}, "cron"),
        ({}, "cron"),
        ({"cron": "* * * * *", "tz": "Mars/Olympus"}, "tz"),
        ({"cron": "* * * * *", "n": 0}, "n"),
        ({"cron": "* * * * *", "n": 101}, "n"),
    ],
)
def test_cron_preview_rejects_bad_input(staff_api, params, field):
    response = staff_api.get("/api/jobs/scheduler/preview", params)
    assert response.status_code == 400 and field in response.json(), response.content


# --- robustness, throttling, schema -------------------------------------------------------
JUNK = [
    None,
    [],
    "text",
    123,
    {"task": None},
    {"task": ["jobs.noop"]},
    {"task": "jobs.noop", "args": "x", "kwargs": "y", "priority": [], "delay": {}},
    {"grace": None, "status": None, "limit": None},
    {"queue": 5, "job_ids": "all", "limit": "many"},
    {"jobs": [None, 1, "x"]},
    {"reset_attempts": None},
    {"task": "x" * 10000},
]
POSTS = [url for method, url in ENDPOINTS if method == "post"]


@pytest.mark.security
@pytest.mark.parametrize("url", POSTS)
def test_no_junk_input_reaches_a_500(staff_api, url):
    for payload in JUNK:
        response = staff_api.post(url, json.dumps(payload), content_type="application/json")
        assert response.status_code < 500, (url, payload, response.content)
    for query in ["limit=%00", "status=%ff", "cron=%00&tz=%00&n=%00", "limit=99999999999999999"]:
        for method, get_url in ENDPOINTS:
            if method == "get":
                assert staff_api.get(f"{get_url.split('?')[0]}?{query}").status_code < 500


def test_jobs_api_is_throttled_with_429_and_retry_after(staff_api, settings):
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "jobs_admin": "3/minute"}
    with override_settings(REST_FRAMEWORK=rest):
        statuses = [staff_api.get("/api/jobs/status").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = staff_api.get("/api/jobs/metrics")
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 60


def test_openapi_schema_of_the_jobs_api_validates_without_warnings():
    from django.urls import include, path
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/jobs/", include("jobs.web.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    validate_schema(schema)

    assert not GENERATOR_STATS, "drf-spectacular reported warnings or errors for jobs.api"
    paths = set(schema["paths"])
    assert {
        "/api/jobs/",
        "/api/jobs/bulk/",
        "/api/jobs/health",
        "/api/jobs/{job_id}",
        "/api/jobs/{queue}/{job_id}",
        "/api/jobs/queues/{queue}/clean",
        "/api/jobs/scheduler/preview",
    } <= paths
    operation = schema["paths"]["/api/jobs/"]["post"]
    assert {"201", "200", "400"} <= set(operation["responses"])


def test_project_schema_is_served_and_documents_the_jobs_api(staff_api):
    response = staff_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/jobs/{job_id}/retry" in json.loads(response.content)["paths"]


# --- end to end with a real worker ----------------------------------------------------------
@pytest.mark.integration
def test_job_enqueued_through_the_api_runs_on_a_worker(worker, staff_user):
    from rest_framework.test import APIClient

    from tests.support.auth import access_token

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(staff_user)}")
    created = api.post(
        "/api/jobs/", {"task": "jobs.sleep", "args": [0.2], "priority": 1}, format="json"
    ).json()

    done = wait_for(
        lambda: (b := api.get(f"/api/jobs/{created['id']}").json())["status"] == "completed" and b
    )
    assert done["result"] == 0.2 and done["attempts"] == 1 and done["priority"] == "CRITICAL"
    assert done["started_at"] and done["finished_at"] and done["worker"]


@pytest.mark.django_db
def test_an_api_path_that_matches_no_route_answers_json_404(client):
    response = client.get("/api/jobs/not-a-job-id/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert client.get("/no-such-page/").status_code == 404  # HTML for people, as before
