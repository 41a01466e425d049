"""The API's single-schedule status, the six-field and interval previews, and paging job
lists with ?start=&end= as well as ?limit=&offset=."""

from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from jobs.models import JobStatus, ScheduleOptions
from tests.support.ledger_rows import make_job

pytestmark = pytest.mark.django_db


def test_one_schedule_status_says_exists_enabled_next_and_last_run(staff_api):
    crontab = CrontabSchedule.objects.create(minute="*/2", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="reports.refresh",
        task="jobs.noop",
        crontab=crontab,
        last_run_at=datetime(2026, 1, 1, 9, tzinfo=UTC),
    )
    ScheduleOptions.objects.create(periodic_task=task, second="15")

    body = staff_api.get("/api/jobs/scheduler/reports.refresh").json()
    assert body["exists"] is True and body["enabled"] is True
    assert body["cron"] == "15 */2 * * * *"
    assert body["last_run"] == "2026-01-01T09:00:00+00:00"
    next_run = datetime.fromisoformat(body["next_run"])
    assert next_run > datetime.now(UTC) and next_run.second == 15 and next_run.minute % 2 == 0
    assert len(body["upcoming"]) == 5 and body["upcoming"][0] == body["next_run"]

    staff_api.post("/api/jobs/scheduler/reports.refresh/stop")
    stopped = staff_api.get("/api/jobs/scheduler/reports.refresh").json()
    assert stopped["enabled"] is False and stopped["next_run"] is None
    assert stopped["upcoming"] == []


def test_one_interval_schedule_status(staff_api):
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.create(name="feeds.poll", task="jobs.noop", interval=every)
    body = staff_api.get("/api/jobs/scheduler/feeds.poll").json()
    assert body["interval_seconds"] == 60 and body["cron"] is None
    assert datetime.fromisoformat(body["next_run"]).second == 0  # epoch-aligned minutes
    assert body["run_on_init"] is False


def test_unknown_schedule_is_a_404_in_json(staff_api):
    response = staff_api.get("/api/jobs/scheduler/nope")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "nope" in response.json()["detail"]


def test_preview_accepts_six_fields_and_intervals(staff_api):
    body = staff_api.get("/api/jobs/scheduler/preview", {"cron": "0 */2 * * * *", "n": 3}).json()
    fires = [datetime.fromisoformat(f) for f in body["next"]]
    assert len(fires) == 3 and all(f.minute % 2 == 0 and f.second == 0 for f in fires)
    assert fires[1] - fires[0] == timedelta(minutes=2)

    bad = staff_api.get("/api/jobs/scheduler/preview", {"cron": "60 * * * * *"})
    assert bad.status_code == 400 and "cron" in bad.json()

    every = staff_api.get("/api/jobs/scheduler/preview-every", {"every": 90, "n": 2}).json()
    first, second = (datetime.fromisoformat(f) for f in every["next"])
    assert second - first == timedelta(seconds=90) and first.timestamp() % 90 == 0
    assert every["description"] == "Every 90 seconds" and every["cron"] is None
    assert staff_api.get("/api/jobs/scheduler/preview-every", {"every": 0}).status_code == 400


# --- paging ----------------------------------------------------------------------------------
@pytest.fixture
def five_failed():
    """Five failed jobs, newest first as the lists order them."""
    jobs = [make_job(status=JobStatus.FAILED) for _ in range(5)]
    return [str(job.id) for job in reversed(jobs)]


@pytest.mark.parametrize("url", ["/api/jobs/", "/api/jobs/failed", "/api/jobs/queues/default/jobs"])
def test_lists_page_with_limit_and_offset_or_start_and_end(staff_api, five_failed, url):
    def ids(query):
        response = staff_api.get(url, query)
        assert response.status_code == 200, response.content
        return [job["id"] for job in response.json()]

    assert ids({"limit": 2, "offset": 1}) == five_failed[1:3]
    assert ids({"start": 1, "end": 2}) == five_failed[1:3]  # end is inclusive, as getJobs
    assert ids({"start": 3}) == five_failed[3:]
    assert ids({"end": 0}) == five_failed[:1]
    assert ids({"start": 4, "end": 2}) == []  # end before start: an empty page
    assert ids({"start": 0, "end": 9999}) == five_failed  # cut to 1000 at most


def test_start_and_end_are_validated(staff_api):
    for query in ({"start": -1}, {"end": -1}, {"start": "x"}, {"end": 10**9}):
        response = staff_api.get("/api/jobs/failed", query)
        assert response.status_code == 400 and set(response.json()) & {"start", "end"}
