"""The admin dashboard's pages through Django's test client: staff only, the ledger's
counts, the live JSON, and schedule actions that need the CSRF token and the permission."""

import pytest
from django.test import Client
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.ledger.models import JobStatus
from jobs.ledger.queues import queue_pause
from tests.support.ledger_rows import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass")


@pytest.fixture
def staff_client(operator):
    client = Client()
    client.force_login(operator)
    return client


def test_only_staff_see_the_dashboard(client, plain_user):
    assert client.get("/admin/dashboard/").status_code == 302  # to the admin login
    client.force_login(plain_user)
    assert client.get("/admin/dashboard/live.json").status_code == 302


def test_the_overview_shows_each_queues_counts_and_the_admin_index_links_it(staff_client):
    make_job(status=JobStatus.WAITING)
    make_job(status=JobStatus.FAILED)
    make_job(status=JobStatus.ACTIVE, worker="host:1", progress=40)

    page = staff_client.get("/admin/dashboard/").content.decode()
    row = page.split('data-queue="default"')[1].split("</tr>")[0]
    assert '<td class="num" data-status="waiting">1</td>' in row
    assert '<td class="num" data-status="failed">1</td>' in row
    assert '<svg class="sparkline"' in row
    assert "/admin/dashboard/" in staff_client.get("/admin/").content.decode()

    live = staff_client.get("/admin/dashboard/live.json").json()
    assert [(j["worker"], j["progress"]) for j in live["running"]] == [("host:1", 40)]


def test_a_schedule_is_disabled_and_run_by_a_post_with_the_csrf_token(operator):
    crontab = CrontabSchedule.objects.create(minute="*/5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="every-5", task="jobs.noop", crontab=crontab)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    page = client.get("/admin/dashboard/schedules/").content.decode()
    assert "every-5" in page and "enabled" in page
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]

    forged = client.post(
        "/admin/dashboard/schedules/action/", {"name": "every-5", "action": "disable"}
    )
    assert forged.status_code == 403
    done = client.post(
        "/admin/dashboard/schedules/action/",
        {"name": "every-5", "action": "disable", "csrfmiddlewaretoken": token},
    )
    assert done.status_code == 302
    assert PeriodicTask.objects.get(name="every-5").enabled is False
    after = client.get("/admin/dashboard/schedules/").content.decode()
    assert "Every-5: disabled." in after  # the admin capitalises messages
    row = after.split('data-schedule="every-5"')[1].split("</tr>")[0]
    assert '<td class="next"><span class="muted">none</span>' in row

    client.post(
        "/admin/dashboard/schedules/action/",
        {"name": "every-5", "action": "run", "csrfmiddlewaretoken": token},
    )
    assert "enqueued now as job" in client.get("/admin/dashboard/schedules/").content.decode()


def test_the_overview_says_what_needs_attention_what_failed_and_what_runs_next(staff_client):
    for _ in range(3):
        make_job(status=JobStatus.FAILED, task="jobs.fail", error="ValueError: card declined")
    make_job(status=JobStatus.FAILED, task="jobs.sleep", error="TimeoutError: slow")
    queue_pause(queue="default")
    crontab = CrontabSchedule.objects.create(minute="*/5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="reports.every-5", task="jobs.noop", crontab=crontab)

    page = staff_client.get("/admin/dashboard/").content.decode()
    attention = page.split('id="attention"')[1].split("<h2>Activity across queues</h2>")[0]
    assert "queue default is paused" in attention
    failures = attention.split('id="top-failures"')[1].split("</table>")[0]
    assert failures.index("jobs.fail") < failures.index("jobs.sleep")  # most frequent first
    assert '<td class="num">3</td>' in failures and "ValueError: card declined" in failures
    assert "reports.every-5" in attention.split('id="next-fires"')[1]
