"""The admin never writes a ledger row from a form: rows are read-only, and the operations
(retry, cancel, run now, remove; retry-all / remove-all of a failure group; running periodic
tasks) go through a confirmation page and then the ledger's operations."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.models import Job, JobAttempt, JobStatus, ScheduleFire, WorkerProcess
from jobs.scheduling.declarations import schedules_sync
from tests.support.ledger_rows import make_job

pytestmark = pytest.mark.django_db

JOBS = "/admin/jobs/job/"


def test_a_post_to_a_jobs_change_page_changes_nothing_and_the_page_has_no_save(admin_client):
    job = make_job(status=JobStatus.ACTIVE, worker="host:1", progress=10)
    page = admin_client.get(f"{JOBS}{job.id}/change/").content.decode()

    stale = admin_client.post(
        f"{JOBS}{job.id}/change/",
        {"status": "completed", "progress": "100", "worker": "", "_save": "Save"},
    )

    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert stale.status_code == 403
    job.refresh_from_db()
    assert (job.status, job.progress, job.worker) == (JobStatus.ACTIVE, 10, "host:1")
    assert admin_client.post(f"{JOBS}add/", {"task": "x"}).status_code == 403
    assert admin_client.post(f"{JOBS}{job.id}/delete/", {"post": "yes"}).status_code == 403
    assert Job.objects.filter(id=job.id).exists()


def test_worker_and_fire_rows_cannot_be_changed_or_deleted(admin_client):
    now = timezone.now()
    WorkerProcess.objects.create(
        name="host:1", hostname="host", pid=1, started_at=now, last_seen=now
    )
    fire = ScheduleFire.objects.create(schedule="nightly", slot=now, fired_at=now, job_id="a")

    worker_post = admin_client.post(
        "/admin/jobs/workerprocess/host:1/change/", {"hostname": "evil", "pid": "2"}
    )
    fire_post = admin_client.post(
        f"/admin/jobs/schedulefire/{fire.pk}/change/", {"schedule": "evil"}
    )
    deleted = admin_client.post("/admin/jobs/workerprocess/host:1/delete/", {"post": "yes"})

    assert (worker_post.status_code, fire_post.status_code, deleted.status_code) == (403,) * 3
    assert WorkerProcess.objects.get(name="host:1").hostname == "host"
    assert ScheduleFire.objects.get(pk=fire.pk).schedule == "nightly"


def test_a_jobs_buttons_ask_before_they_act(admin_client):
    failed = make_job(status=JobStatus.FAILED, error="ValueError: boom")
    page = admin_client.get(f"{JOBS}{failed.id}/change/").content.decode()
    retry_url = f"{JOBS}{failed.id}/operate/retry/"

    asked = admin_client.get(retry_url)
    failed.refresh_from_db()
    status_after_asking = failed.status
    done = admin_client.post(retry_url)

    assert retry_url in page and f"{JOBS}{failed.id}/operate/cancel/" not in page
    assert asked.status_code == 200
    assert "csrfmiddlewaretoken" in asked.content.decode()
    assert status_after_asking == JobStatus.FAILED
    assert done.status_code == 302 and done["Location"].endswith(f"{failed.id}/change/")
    failed.refresh_from_db()
    assert failed.status == JobStatus.WAITING


def test_the_job_buttons_cancel_run_now_and_remove_and_refuse_what_the_state_forbids(
    admin_client,
):
    waiting = make_job(status=JobStatus.WAITING)
    delayed = make_job(status=JobStatus.DELAYED)
    active = make_job(status=JobStatus.ACTIVE)
    done = make_job(status=JobStatus.COMPLETED)

    admin_client.post(f"{JOBS}{waiting.id}/operate/cancel/")
    admin_client.post(f"{JOBS}{delayed.id}/operate/run-now/")
    refused = admin_client.post(f"{JOBS}{active.id}/operate/remove/", follow=True)
    removed = admin_client.post(f"{JOBS}{done.id}/operate/remove/")

    assert Job.objects.get(id=waiting.id).status == JobStatus.CANCELLED
    assert Job.objects.get(id=delayed.id).scheduled_for <= timezone.now()
    assert "not done" in refused.content.decode()
    assert Job.objects.filter(id=active.id).exists()
    assert removed["Location"].endswith(JOBS) and not Job.objects.filter(id=done.id).exists()
    assert admin_client.get(f"{JOBS}{done.id}/operate/explode/").status_code == 404


def test_the_operations_need_the_change_permission(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(viewer)
    failed = make_job(status=JobStatus.FAILED)

    assert client.get(f"{JOBS}{failed.id}/change/").status_code == 200
    assert client.post(f"{JOBS}{failed.id}/operate/retry/").status_code == 403
    assert Job.objects.get(id=failed.id).status == JobStatus.FAILED


def test_a_list_action_shows_a_confirmation_page_before_it_removes(admin_client):
    done = make_job(status=JobStatus.COMPLETED)
    selection = {"action": "remove_jobs", "_selected_action": [str(done.id)]}

    asked = admin_client.post(JOBS, selection)

    assert asked.status_code == 200
    body = asked.content.decode()
    assert "Remove these jobs from the ledger?" in body and str(done.id) in body
    assert Job.objects.filter(id=done.id).exists()
    admin_client.post(JOBS, {**selection, "confirmed": "yes"})
    assert not Job.objects.filter(id=done.id).exists()


def test_the_timeline_shows_each_attempt_its_worker_traceback_and_backoff(admin_client):
    now = timezone.now()
    job = make_job(
        status=JobStatus.DELAYED,
        attempts=1,
        max_attempts=3,
        created_at=now - timedelta(seconds=30),
        published_at=now - timedelta(seconds=29),
        started_at=now - timedelta(seconds=28),
        worker="host:7",
        scheduled_for=now + timedelta(seconds=60),
    )
    JobAttempt.objects.create(
        job=job,
        number=1,
        worker="host:7",
        started_at=now - timedelta(seconds=28),
        finished_at=now - timedelta(seconds=27),
        outcome="retried",
        error="ConnectionError: smtp down",
        traceback="Traceback (most recent call last):\n  File x\nConnectionError: smtp down",
    )

    body = admin_client.get(f"{JOBS}{job.id}/change/").content.decode()
    timeline = body[body.index("Timeline (attempts history)") :]

    order = [
        "Enqueued on queue default",
        "Published to the broker",
        "Attempt 1 started",
        "on worker host:7",
        "Attempt 1 raised, will be retried",
        "ConnectionError: smtp down",
        "most recent call last",
        "Backoff",
        f"next run at {timezone.localtime(job.scheduled_for):%Y-%m-%d %H:%M:%S}"[:-3],
    ]
    positions = [timeline.index(text) for text in order]
    assert positions == sorted(positions)
    assert timeline.count("Attempt 1 started") == 1
    # Delayed: it can be cancelled, made due or removed, not retried.
    assert "operate/run-now/" in body and "operate/retry/" not in body


def test_the_failures_page_groups_by_task_and_error_and_retries_a_group(admin_client):
    smtp = [
        make_job(status=JobStatus.FAILED, task="mail.send", error=f"SMTPError: 421 busy\n{n}")
        for n in range(3)
    ]
    other = make_job(status=JobStatus.FAILED, task="mail.send", error="KeyError: 'to'")
    make_job(status=JobStatus.FAILED, task="pdf.render", error="SMTPError: 421 busy")

    page = admin_client.get(f"{JOBS}failures/")
    groups = page.context["groups"]

    assert page.status_code == 200
    assert [(g.task, g.error_class, g.signature, g.count) for g in groups][:1] == [
        ("mail.send", "SMTPError", "SMTPError: 421 busy", 3)
    ]
    assert len(groups) == 3
    smtp_group = groups[0]
    assert smtp_group.example_id in {str(j.id) for j in smtp}
    retry_url = f"{JOBS}failures/{smtp_group.key}/retry/"
    assert retry_url in page.content.decode()

    asked = admin_client.get(retry_url)
    assert asked.status_code == 200 and "Yes, retry all" in asked.content.decode()
    assert Job.objects.filter(status=JobStatus.FAILED).count() == 5

    admin_client.post(retry_url)

    statuses = dict(Job.objects.values_list("id", "status"))
    assert {statuses[j.id] for j in smtp} == {JobStatus.WAITING}
    assert statuses[other.id] == JobStatus.FAILED

    remove_url = f"{JOBS}failures/{groups[1].key}/remove/"
    admin_client.post(remove_url)
    assert Job.objects.filter(status=JobStatus.FAILED).count() == 1


def test_search_finds_the_short_id_part_of_a_key_error_text_and_args(admin_client):
    target = make_job(
        status=JobStatus.FAILED,
        job_key="invoice-2026-0042",
        error="ValueError: customer 9911 has no address",
        args=[{"order": "ORD-55123"}],
    )
    make_job(status=JobStatus.FAILED, job_key="invoice-2026-0001", error="KeyError: x")

    def found(term: str) -> list:
        response = admin_client.get(JOBS, {"q": term})
        return [j.id for j in response.context["cl"].result_list]

    short = str(target.id)[:8]
    page = admin_client.get(JOBS).content.decode()
    assert f">{short}<" in page  # the list shows the short id it searches by
    assert target.id in found(short)
    assert found("2026-0042") == [target.id]
    assert found("no address") == [target.id]
    assert found("ORD-55123") == [target.id]
    assert found("nothing-matches-this") == []


def test_the_job_list_shows_times_to_the_second_and_the_scheduled_time(admin_client):
    job = make_job(status=JobStatus.DELAYED)
    body = admin_client.get(JOBS).content.decode()

    assert "scheduled for" in body.lower()
    scheduled = timezone.localtime(job.scheduled_for)
    assert f'<span class="nowrap">{scheduled:%Y-%m-%d}</span>' in body
    assert f'<span class="nowrap">{scheduled:%H:%M:%S}</span>' in body
    assert "Past hour" in body and "Past 24 hours" in body


def test_the_registered_task_menu_shows_the_task_of_a_schedule_declared_in_code(admin_client):
    schedules_sync()
    task = PeriodicTask.objects.get(name="jobs.maintenance-sweep")

    form = (
        admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
        .context["adminform"]
        .form
    )
    listing = admin_client.get("/admin/django_celery_beat/periodictask/").content.decode()

    assert form["regtask"].value() == "jobs.maintenance_sweep"
    assert '<option value="jobs.maintenance_sweep" selected>' in str(form["regtask"])
    assert "jobs.maintenance_sweep" in listing


def test_running_periodic_tasks_from_the_admin_asks_first(admin_client):
    crontab = CrontabSchedule.objects.create(minute="0", hour="3", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="nightly", task="jobs.noop", crontab=crontab, kwargs=json.dumps({})
    )
    selection = {"action": "run_tasks", "_selected_action": [str(task.pk)]}

    asked = admin_client.post("/admin/django_celery_beat/periodictask/", selection)

    assert asked.status_code == 200
    assert "Run these periodic tasks now" in asked.content.decode()
    assert not Job.objects.filter(task="jobs.noop").exists()
    admin_client.post("/admin/django_celery_beat/periodictask/", {**selection, "confirmed": "yes"})
    assert Job.objects.filter(task="jobs.noop").count() == 1
