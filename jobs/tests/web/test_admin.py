"""Django admin for the job platform: ledger list/filters/search/detail and actions, queue
controls, workers with Flower links, schedules with their next runs."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.models import Alert, Job, JobStatus, QueueState, ScheduleFire, WorkerProcess
from tests.support.ledger_rows import make_job

pytestmark = pytest.mark.django_db

JOBS = "/admin/jobs/job/"


def test_job_list_filters_and_searches(admin_client):
    failed = make_job(status=JobStatus.FAILED, queue="tickets.email", task="jobs.sleep")
    keyed = make_job(status=JobStatus.WAITING, job_key="order-7")
    make_job(status=JobStatus.COMPLETED)

    everything = admin_client.get(JOBS)
    assert everything.status_code == 200
    assert everything.context["cl"].result_count == 3
    assert "Live workers in Flower" in everything.content.decode()

    filtered = admin_client.get(
        JOBS,
        {
            "queue": "tickets.email",
            "status__exact": "failed",
            "task": "jobs.sleep",
            "priority__exact": "3",
            "created_at__gte": str(timezone.now() - timedelta(days=1)),
        },
    )
    assert [j.id for j in filtered.context["cl"].result_list] == [failed.id]
    assert ("jobs.sleep", "jobs.sleep") in next(
        f for f in filtered.context["cl"].filter_specs if f.title == "task"
    ).lookup_choices

    by_id = admin_client.get(JOBS, {"q": str(failed.id)})
    assert [j.id for j in by_id.context["cl"].result_list] == [failed.id]
    by_key = admin_client.get(JOBS, {"q": "order-7"})
    assert [j.id for j in by_key.context["cl"].result_list] == [keyed.id]
    by_task = admin_client.get(JOBS, {"q": "jobs.sl"})
    assert [j.id for j in by_task.context["cl"].result_list] == [failed.id]


def test_job_detail_shows_args_result_error_traceback_and_progress(admin_client):
    job = make_job(
        status=JobStatus.FAILED,
        args=[1, "two"],
        kwargs={"flag": True},
        error="ValueError: boom",
        traceback="Traceback (most recent call last):\n  ValueError: boom",
        progress=40,
        progress_message="almost",
    )

    page = admin_client.get(f"{JOBS}{job.id}/change/").content.decode()

    for text in (
        "&quot;two&quot;",
        "&quot;flag&quot;: true",
        "ValueError: boom",
        "most recent call last",
        'value="40"',
        "almost",
    ):
        assert text in page, text
    assert admin_client.get(f"{JOBS}add/").status_code == 403


def test_job_detail_shows_the_attempts_history_and_the_jobs_own_options(admin_client):
    from jobs.models import JobAttempt

    job = make_job(
        status=JobStatus.FAILED,
        attempts=2,
        backoff={"type": "fixed", "delay": 2500},
        remove_on_fail={"count": 7},
    )
    for number, outcome, error in [(1, "retried", "first blow"), (2, "failed", "second blow")]:
        JobAttempt.objects.create(
            job=job,
            number=number,
            worker=f"host:{number}",
            started_at=job.started_at,
            finished_at=job.finished_at,
            outcome=outcome,
            error=error,
            traceback=f"Traceback of attempt {number}",
        )

    page = admin_client.get(f"{JOBS}{job.id}/change/").content.decode()

    for text in (
        "Timeline (attempts history)",
        "first blow",
        "second blow",
        "on worker host:1",
        "Traceback of attempt 2",
        "Attempt 1 raised, will be retried",
        "Attempt 2 raised, no attempts left",
        "2500",
        "&quot;count&quot;: 7",
    ):
        assert text in page, text


def _act(client, action: str, jobs) -> None:
    selection = {"action": action, "_selected_action": [str(j.id) for j in jobs]}
    asked = client.post(JOBS, selection)
    assert asked.status_code == 200 and "confirmed" in asked.content.decode()
    response = client.post(JOBS, {**selection, "confirmed": "yes"}, follow=True)
    assert response.status_code == 200


def test_job_actions_retry_cancel_run_now_and_remove(admin_client):
    failed = make_job(status=JobStatus.FAILED)
    delayed = make_job(status=JobStatus.DELAYED)
    waiting = make_job(status=JobStatus.WAITING)
    active = make_job(status=JobStatus.ACTIVE)
    done = make_job(status=JobStatus.COMPLETED)

    _act(admin_client, "retry_jobs", [failed, active])
    _act(admin_client, "run_jobs_now", [delayed])
    _act(admin_client, "cancel_jobs", [waiting, done])
    _act(admin_client, "remove_jobs", [done, active])

    statuses = dict(Job.objects.values_list("id", "status"))
    assert statuses[failed.id] == JobStatus.WAITING
    assert Job.objects.get(id=delayed.id).scheduled_for <= timezone.now()
    assert statuses[waiting.id] == JobStatus.CANCELLED
    assert statuses[active.id] == JobStatus.ACTIVE  # neither retried nor removed
    assert done.id not in statuses


def test_queue_admin_lists_every_queue_and_pauses_and_resumes(admin_client):
    make_job(status=JobStatus.WAITING, queue="tickets.email")

    page = admin_client.get("/admin/jobs/queuestate/")

    assert page.status_code == 200
    assert set(QueueState.objects.values_list("name", flat=True)) >= {
        "*",
        "default",
        "tickets.email",
    }
    admin_client.post(
        "/admin/jobs/queuestate/",
        {"action": "pause_queues", "_selected_action": ["tickets.email"]},
    )
    assert QueueState.objects.get(name="tickets.email").paused
    admin_client.post(
        "/admin/jobs/queuestate/",
        {"action": "resume_queues", "_selected_action": ["tickets.email"]},
    )
    assert not QueueState.objects.get(name="tickets.email").paused


def test_worker_admin_is_read_only_with_live_state_and_flower_links(admin_client, settings):
    settings.FLOWER_URL = "http://flower.example:5555"
    now = timezone.now()
    for name, ago in [("host:1", 1), ("host:2", 600)]:
        WorkerProcess.objects.create(
            name=name,
            hostname="host",
            pid=int(name[-1]),
            role="main",
            started_at=now - timedelta(hours=1),
            last_seen=now - timedelta(seconds=ago),
        )

    page = admin_client.get("/admin/jobs/workerprocess/")
    live = admin_client.get("/admin/jobs/workerprocess/", {"live": "yes"})

    assert "http://flower.example:5555" in page.content.decode()
    assert [w.name for w in live.context["cl"].result_list] == ["host:1"]
    assert admin_client.get("/admin/jobs/workerprocess/add/").status_code == 403


def test_periodic_task_admin_shows_the_next_five_runs(admin_client):
    crontab = CrontabSchedule.objects.create(
        minute="30", hour="2", day_of_week="*", timezone="Europe/Berlin"
    )
    task = PeriodicTask.objects.create(
        name="nightly", task="jobs.noop", crontab=crontab, kwargs=json.dumps({})
    )

    page = admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")

    body = page.content.decode()
    assert page.status_code == 200 and "Next 5 runs" in body
    assert body.count("T02:30:00+0") == 5
    assert admin_client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    assert admin_client.get("/admin/django_celery_results/taskresult/").status_code == 200


def test_periodic_task_admin_previews_six_field_cron_and_refuses_a_bad_seconds_field(
    admin_client,
):
    from jobs.models import ScheduleOptions
    from jobs.web.admin import ScheduleOptionsForm

    crontab = CrontabSchedule.objects.create(minute="*/2", timezone="UTC")
    task = PeriodicTask.objects.create(name="sec", task="jobs.noop", crontab=crontab)
    ScheduleOptions.objects.create(periodic_task=task, second="30")

    body = admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    body = body.content.decode()
    assert "seconds field and start-up fire" in body.lower()
    assert body.count(":30+00:00") == 5  # the next five runs, at second 30

    assert ScheduleOptionsForm(data={"second": "*/15"}).is_valid()
    bad = ScheduleOptionsForm(data={"second": "61"})
    assert not bad.is_valid() and "second" in bad.errors


def test_schedule_fires_and_alerts_are_listed_read_only(admin_client):
    now = timezone.now()
    ScheduleFire.objects.create(schedule="nightly", slot=now, fired_at=now, job_id="abc")
    Alert.objects.create(
        rule="worker_down", subject="host:1", message="down", opened_at=now, last_seen_at=now
    )

    assert "nightly" in admin_client.get("/admin/jobs/schedulefire/").content.decode()
    assert "host:1" in admin_client.get("/admin/jobs/alert/").content.decode()
    assert admin_client.get("/admin/jobs/alert/add/").status_code == 403


@pytest.mark.security
def test_admin_needs_a_staff_login(client, django_user_model):
    django_user_model.objects.create_user("customer", password="pw")
    client.login(username="customer", password="pw")
    assert client.get(JOBS).status_code == 302
