"""The seed's frequencies: locks every minute, reservations every 2, generation every 3."""

import pytest
from celery import current_app
from django.conf import settings

from jobs.schedules import schedules_sync
from tickets.schedules import SCHEDULES


def test_the_seed_frequencies_are_declared():
    assert {s.task: s.cron for s in SCHEDULES} == {
        "tickets.release_expired_locks": "* * * * *",
        "tickets.process_expired_reservations": "*/2 * * * *",
        "tickets.process_ticket_generation_queue": "*/3 * * * *",
    }


def test_each_schedule_names_a_registered_task_and_a_declared_queue():
    import tickets.tasks  # noqa: F401  (registers the tasks)

    for schedule in SCHEDULES:
        task = current_app.tasks[schedule.task]
        assert schedule.queue == task.job_queue
        assert schedule.queue in settings.JOBS_QUEUES


@pytest.mark.django_db
def test_sync_creates_the_periodic_tasks_for_beat():
    from django_celery_beat.models import PeriodicTask

    outcome = schedules_sync(schedules=SCHEDULES)

    assert sorted(outcome["created"]) == sorted(s.name for s in SCHEDULES)
    minute = PeriodicTask.objects.get(name="tickets.release-expired-locks")
    assert (minute.crontab.minute, minute.crontab.hour) == ("*", "*")
    generation = PeriodicTask.objects.get(name="tickets.process-ticket-generation-queue")
    assert generation.crontab.minute == "*/3" and generation.queue == "tickets.generation"
