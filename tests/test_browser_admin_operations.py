"""Operators at work in a real headless Chromium against the real web command: a failed
job's timeline and its Retry button, a failure group retried at once, and the job list at
1400 px with its search. One web server serves the module; each test logs in afresh."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobAttempt, JobStatus
from tests.support.browser import admin_login, chromium, screenshot
from tests.support.ledger_rows import make_job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/mail/tasks.py", line 12, in send_receipt\n'
    "    smtp.send(message)\n"
    "smtplib.SMTPServerDisconnected: Connection unexpectedly closed"
)


def failed_job(*, task: str, error: str, worker: str = "host-a:4242") -> Job:
    """A job whose two attempts raised: the first was retried, the second failed it."""
    now = timezone.now()
    job = make_job(
        status=JobStatus.FAILED,
        task=task,
        queue="examples.payment-webhooks",
        attempts=2,
        max_attempts=2,
        worker=worker,
        error=error,
        traceback=TRACEBACK,
        created_at=now - timedelta(seconds=40),
        scheduled_for=now - timedelta(seconds=20),
        published_at=now - timedelta(seconds=20),
        started_at=now - timedelta(seconds=19),
        finished_at=now - timedelta(seconds=18),
    )
    for number, outcome, started in [(1, "retried", 39), (2, "failed", 19)]:
        JobAttempt.objects.create(
            job=job,
            number=number,
            worker=worker,
            started_at=now - timedelta(seconds=started),
            finished_at=now - timedelta(seconds=started - 1),
            outcome=outcome,
            error=error,
            traceback=TRACEBACK,
        )
    return job


def test_an_operator_reads_a_failed_jobs_timeline_and_retries_it(web_command, operator_credentials):
    job = failed_job(
        task="examples.ecommerce.send_receipt",
        error="SMTPServerDisconnected: Connection unexpectedly closed",
    )
    with chromium() as context:
        page = context.new_page()
        admin_login(page, web_command.url(""), *operator_credentials)
        page.goto(web_command.url(f"/admin/jobs/job/{job.id}/change/"))
        timeline = page.locator(".job-timeline")
        text = timeline.inner_text()
        screenshot(page, "admin-job-timeline")

        assert "Attempt 1 started" in text and "on worker host-a:4242" in text
        assert "Attempt 1 raised, will be retried" in text
        assert "Attempt 2 raised, no attempts left" in text
        assert timeline.locator("pre.traceback").first.is_visible()
        assert "Traceback (most recent call last)" in text
        assert page.locator("input[name=_save]").count() == 0

        page.click("a.job-operation-retry")
        screenshot(page, "admin-job-retry-confirm")
        assert "Run this job again" in page.inner_text("#content")
        page.click("input[type=submit][value^='Yes']")
        page.wait_for_url(web_command.url(f"/admin/jobs/job/{job.id}/change/"))

        assert "Retry: done." in page.inner_text(".messagelist")
    assert Job.objects.get(id=job.id).status == JobStatus.WAITING


def test_an_operator_retries_a_whole_failure_group(web_command, operator_credentials):
    group = [
        failed_job(task="examples.ecommerce.send_receipt", error=f"TimeoutError: SMTP {n}s")
        for n in (30, 30, 30)
    ]
    other = failed_job(task="examples.ecommerce.charge", error="KeyError: 'card'")
    with chromium() as context:
        page = context.new_page()
        admin_login(page, web_command.url(""), *operator_credentials)
        page.goto(web_command.url("/admin/jobs/job/"))
        page.click("text=Failures by error")
        page.wait_for_url(web_command.url("/admin/jobs/job/failures/"))
        screenshot(page, "admin-failures")
        first = page.locator("tr.failure-group").first
        assert "TimeoutError: SMTP 30s" in first.inner_text()
        assert first.locator("td.count").inner_text() == "3"

        first.locator("a.retry-group").click()
        screenshot(page, "admin-failures-retry-confirm")
        assert "Retry all 3 failed job(s) of this group?" in page.inner_text("#content")
        page.click("input[type=submit][value^='Yes']")
        page.wait_for_url(web_command.url("/admin/jobs/job/failures/"))
        assert "Retried job(s): 3." in page.inner_text(".messagelist")

    statuses = dict(Job.objects.values_list("id", "status"))
    assert {statuses[j.id] for j in group} == {JobStatus.WAITING}
    assert statuses[other.id] == JobStatus.FAILED


def test_the_job_list_fits_1400_px_and_its_search_finds_short_ids_keys_and_errors(
    web_command, operator_credentials
):
    target = failed_job(
        task="examples.eve_nomad.refresh_expiring_tokens",
        error="PermissionError: token for character 90001234 was revoked",
    )
    Job.objects.filter(id=target.id).update(job_key="refresh-character-90001234-2026")
    for n in range(5):
        make_job(
            status=JobStatus.COMPLETED,
            task="examples.ecommerce.historical_data_backfill_for_a_long_task_name",
            queue="examples.historical-data",
            job_key=f"backfill-{n}",
        )
    short = str(target.id)[:8]
    with chromium(viewport=(1400, 900)) as context:
        page = context.new_page()
        admin_login(page, web_command.url(""), *operator_credentials)
        page.goto(web_command.url("/admin/jobs/job/"))
        screenshot(page, "admin-job-list-1400")
        widths = page.evaluate(
            "() => ({table: document.querySelector('#result_list').getBoundingClientRect().right,"
            " page: document.documentElement.scrollWidth, viewport: window.innerWidth})"
        )
        headers = page.locator("#result_list thead th").all_inner_texts()

        assert widths["page"] <= widths["viewport"], widths
        assert widths["table"] <= widths["viewport"], widths
        for column in ("ID", "TASK", "QUEUE", "STATUS", "SCHEDULED FOR", "FINISHED"):
            assert any(column in h.upper() for h in headers), (column, headers)

        # A UUIDv7 starts with its creation time: jobs made in the same minute share the
        # short id, so the search lists them all (and the target among them).
        for term, only_target in (
            (short, False),
            ("character-90001234", True),
            ("was revoked", True),
        ):
            page.fill("#searchbar", term)
            page.press("#searchbar", "Enter")
            page.wait_for_load_state()
            rows = page.locator("#result_list tbody tr")
            links = rows.locator("th.field-short_id a, td.field-short_id a")
            hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
            assert any(str(target.id) in href for href in hrefs), (term, hrefs)
            if only_target:
                assert rows.count() == 1, term
        screenshot(page, "admin-job-list-search")
