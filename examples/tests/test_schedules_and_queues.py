"""The examples' repeats (a daily cron, an hourly ``every``, the 2-hourly token refresh, the
03:00 UTC cache cleanup) and their queues, declared where the app is installed only."""

import io
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

import examples.tasks  # noqa: F401  (registers the tasks)
from examples.queues import QUEUE_NAMES as DECLARED
from examples.schedules import SCHEDULES
from jobs import DAILY_3AM, EVERY_2_HOURS


def test_repeats_are_the_documented_ones():
    by_task = {s.task: (s.cron, s.every, s.timezone, s.priority) for s in SCHEDULES}
    assert by_task == {
        "examples.ecommerce.daily_report": ("0 9 * * *", None, "UTC", None),
        "examples.ecommerce.stock_sync": (None, timedelta(hours=1), "UTC", None),
        "examples.eve_nomad.refresh_expiring_tokens": (EVERY_2_HOURS, None, "UTC", "HIGH"),
        "examples.eve_nomad.cleanup_cache": (DAILY_3AM, None, "UTC", "LOW"),
    }
    assert (EVERY_2_HOURS, DAILY_3AM) == ("0 */2 * * *", "0 3 * * *")


def test_each_schedule_names_a_registered_task_and_its_queue():
    for schedule in SCHEDULES:
        task = current_app.tasks[schedule.task]
        assert schedule.queue == task.job_queue
        assert schedule.queue in settings.JOBS_QUEUES


def test_the_example_queues_exist_where_the_app_is_installed_and_not_in_production():
    # The test settings install the app and add its queues after production's.
    assert list(settings.JOBS_QUEUES)[-len(DECLARED) :] == DECLARED
    assert "examples" in settings.INSTALLED_APPS


def test_production_settings_do_not_install_the_examples():
    # A fresh process: the settings modules of this one are already imported.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "p" * 60,
        "ALLOWED_HOSTS": "jobs.example.com",
        "WAITLIST_PUBLIC_BASE_URL": "https://jobs.example.com",
    }
    env.pop("JOBS_QUEUES", None)
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps([settings.INSTALLED_APPS, settings.JOBS_QUEUES]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    installed, queues = json.loads(out.strip().splitlines()[-1])

    assert "examples" not in installed
    assert not set(DECLARED) & set(queues)


@pytest.mark.django_db
def test_sync_schedules_stores_them_for_beat():
    call_command("sync_schedules", stdout=io.StringIO())

    report = PeriodicTask.objects.get(name="examples.daily-report")
    assert (report.crontab.minute, report.crontab.hour, report.queue) == (
        "0",
        "9",
        "examples.orders",
    )
    sync = PeriodicTask.objects.get(name="examples.stock-sync")
    assert sync.queue == "examples.inventory"
    cleanup = PeriodicTask.objects.get(name="examples.cache-cleanup")
    assert (cleanup.crontab.minute, cleanup.crontab.hour) == ("0", "3")
    assert str(cleanup.crontab.timezone) == "UTC"
