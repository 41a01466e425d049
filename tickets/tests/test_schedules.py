"""The sweeps' frequencies: locks every minute, reservations every 2, generation every 3."""

import io

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

import tickets.tasks  # noqa: F401  (registers the tasks)
from tickets.schedules import SCHEDULES


def test_locks_reservations_and_generation_are_swept_every_1_2_and_3_minutes():
    assert {s.task: s.cron for s in SCHEDULES} == {
        "tickets.release_expired_locks": "* * * * *",
        "tickets.process_expired_reservations": "*/2 * * * *",
        "tickets.process_ticket_generation_queue": "*/3 * * * *",
    }


def test_each_schedule_names_a_registered_task_and_a_declared_queue():
    for schedule in SCHEDULES:
        task = current_app.tasks[schedule.task]
        assert schedule.queue == task.job_queue
        assert schedule.queue in settings.JOBS_QUEUES


@pytest.mark.django_db
def test_sync_creates_the_periodic_tasks_for_beat():
    call_command("sync_schedules", stdout=io.StringIO())

    created = set(PeriodicTask.objects.values_list("name", flat=True))
    assert created >= {s.name for s in SCHEDULES}
    minute = PeriodicTask.objects.get(name="tickets.release-expired-locks")
    assert (minute.crontab.minute, minute.crontab.hour) == ("*", "*")
    generation = PeriodicTask.objects.get(name="tickets.process-ticket-generation-queue")
    assert generation.crontab.minute == "*/3" and generation.queue == "tickets.generation"
