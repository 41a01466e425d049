"""The admin dashboard as an operator meets it: a real headless Chromium against the web
command (uvicorn serving config.asgi), a real worker running a job that reports progress."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from playwright.sync_api import expect

from jobs.ledger.models import JobStatus
from jobs.ledger.selectors import STATUSES, queue_status_counts
from tests.support.browser import admin_login, chromium, screenshot
from tests.support.ledger_rows import make_job
from tests.testapp.tasks import progress_steps

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_operator_sees_the_ledgers_counts_and_a_running_jobs_progress_live(
    web_command, operator_credentials, start_worker
):
    # A queue no worker consumes here keeps its counts still while the page is read.
    for status, n in ((JobStatus.COMPLETED, 3), (JobStatus.FAILED, 2), (JobStatus.WAITING, 4)):
        for _ in range(n):
            make_job(status=status, queue="examples.jobs")
    start_worker(queues=["default"])
    # (Read before the browser starts: Playwright's sync API runs an event loop, and
    # Django's ORM refuses to run inside one.)
    ledger = queue_status_counts(["examples.jobs"])["examples.jobs"]

    with chromium() as context:
        page = context.new_page()
        admin_login(page, web_command.url(""), *operator_credentials)
        page.click("#jobs-dashboard-link a >> text=Jobs dashboard")
        page.wait_for_url(web_command.url("/admin/dashboard/"))
        row = page.locator('tr[data-queue="examples.jobs"]')
        shown = {s: int(row.locator(f'td[data-status="{s}"]').inner_text()) for s in STATUSES}
        assert shown == ledger and shown["waiting"] == 4 and shown["failed"] == 2
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the overview is {width[0]} px wide on a {width[1]} px screen"
        screenshot(page, "dashboard-overview")

        page.click(".dashboard-tabs >> text=Live")
        expect(page.locator("#live-mode")).to_have_text("live (WebSocket)", timeout=10_000)
        expect(page.locator("#workers tbody")).to_contain_text("default")
        with ThreadPoolExecutor(1) as pool:  # outside the event loop, like any producer
            job = pool.submit(_enqueue_progress_job).result()
        row = page.locator(f'tr[data-job="{job}"]')
        expect(row).to_contain_text("testapp.progress_steps", timeout=20_000)
        first = _percent(row)
        # Steps 1.5 s apart, the JSON poll every 5 s: the next step comes from the stream.
        expect(row.locator(".percent")).not_to_have_text(f"{first}%", timeout=4_000)
        assert first < _percent(row) <= 83
        screenshot(page, "dashboard-live")
        expect(page.locator(f'tr[data-job="{job}"]')).to_have_count(0, timeout=20_000)


def _percent(row) -> int:
    return int(row.locator(".percent").inner_text().rstrip("%"))


def _enqueue_progress_job() -> str:
    try:
        return str(progress_steps.delay(steps=5, pause=1.5).id)
    finally:
        connection.close()


def test_an_operator_disables_enables_and_runs_a_schedule(web_command, operator_credentials):
    crontab = CrontabSchedule.objects.create(minute="*/5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="reports.every-5", task="jobs.noop", crontab=crontab)

    with chromium() as context:
        page = context.new_page()
        admin_login(page, web_command.url(""), *operator_credentials)
        page.goto(web_command.url("/admin/dashboard/schedules/"))
        row = page.locator('tr[data-schedule="reports.every-5"]')
        fires = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d[05]:00\s*){3}")
        assert fires.fullmatch(row.locator("td.next").inner_text().strip())

        row.locator("input.toggle").click()  # Disable
        expect(row.locator("td.state")).to_have_text("disabled")
        expect(row.locator("td.next")).to_have_text("none")

        row.locator("input.toggle").click()  # Enable
        expect(row.locator("td.state")).to_have_text("enabled")
        assert fires.fullmatch(row.locator("td.next").inner_text().strip())

        page.once("dialog", lambda dialog: dialog.accept())
        row.locator("input.run-now").click()
        expect(page.locator(".messagelist")).to_contain_text("enqueued now as job")
        screenshot(page, "dashboard-schedules")
