"""The admin as an operator meets it: a real headless Chromium against the documented web
command (uvicorn serving config.asgi), logging in through the admin's own form."""

import pytest

from jobs.tasks import noop
from tests.support.browser import admin_login, chromium, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_operator_logs_in_and_finds_an_enqueued_job_in_the_job_list(
    web_command, operator_credentials
):
    job = noop.delay()
    with chromium() as context:
        page = context.new_page()
        admin_login(page, web_command.url(""), *operator_credentials)
        page.goto(web_command.url("/admin/jobs/job/"))
        screenshot(page, "admin-job-list")
        assert page.title().startswith("Select job to")
        assert page.locator("#result_list").count() == 1
        assert str(job.id)[:8] in page.locator("#result_list").inner_text()
