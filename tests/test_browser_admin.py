"""The admin as an operator meets it: a real headless Chromium against the documented web
command (uvicorn serving config.asgi), logging in through the admin's own form."""

import pytest
from django.contrib.auth import get_user_model

from jobs.tasks import noop
from tests.support.browser import admin_login, chromium, screenshot
from tests.support.processes import worker_env
from tests.support.web_server import WebServer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def web():
    server = WebServer(worker_env(), pool=False).wait_ready()
    yield server
    server.stop()


@pytest.fixture
def staff():
    get_user_model().objects.create_superuser("operator", "ops@example.com", "operator-pass")
    return ("operator", "operator-pass")


def test_an_operator_logs_in_and_finds_an_enqueued_job_in_the_job_list(web, staff):
    job = noop.delay()
    with chromium() as context:
        page = context.new_page()
        admin_login(page, web.url(""), *staff)
        page.goto(web.url("/admin/jobs/job/"))
        screenshot(page, "admin-job-list")
        assert page.title().startswith("Select job to")
        assert page.locator("#result_list").count() == 1
        assert str(job.id)[:8] in page.locator("#result_list").inner_text()
