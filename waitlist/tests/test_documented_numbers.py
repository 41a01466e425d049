"""Every number the waitlist's job documentation gives, in one place: each job's schedule,
attempts, backoff, priority and its queue's concurrency.

The document ranks the jobs' priorities high (expired holds), medium-high (cascade), medium
(retry notifications) and low (cleanup); the platform has five levels, CRITICAL..BATCH, so
high and medium-high are both HIGH, medium is NORMAL and low is LOW. Priorities order jobs
within a queue; across queues each has its own worker (and the local worker's -Q order puts
expired holds before cascades).
"""

from django.conf import settings

from waitlist import tasks
from waitlist.queues import QUEUES
from waitlist.schedules import SCHEDULES


def policy(task) -> tuple:
    delays = [task.backoff.seconds(n) for n in range(1, task.max_attempts)]
    return (task.job_queue, task.job_priority, task.max_attempts, delays)


def test_each_job_has_the_documented_attempts_backoff_and_priority():
    assert policy(tasks.process_expired_holds) == ("waitlist.holds", 2, 3, [1, 2])
    assert policy(tasks.notification_cascade) == ("waitlist.cascade", 2, 5, [1, 2, 4, 8])
    # "Max Retries: 3", "Exponential (1s, 2s, 4s)": the first send and three retries.
    assert policy(tasks.send_notification) == ("waitlist.notifications", 3, 4, [1, 2, 4])
    # "2 attempts with fixed delay": the document gives no delay; a minute here.
    assert policy(tasks.cleanup) == ("waitlist.cleanup", 4, 2, [60])
    for task in (tasks.process_expired_holds, tasks.notification_cascade, tasks.cleanup):
        assert Exception not in task.retry_for


def test_each_queue_has_the_documented_concurrency():
    assert {q["name"]: q["concurrency"] for q in QUEUES} == {
        "waitlist.holds": 1,
        "waitlist.cascade": 3,
        "waitlist.notifications": 2,
        "waitlist.cleanup": 1,
    }


def test_schedules_and_retention_are_the_documented_ones():
    assert {s.task: (s.cron, s.timezone, s.priority) for s in SCHEDULES} == {
        "waitlist.process_expired_holds": ("* * * * *", "UTC", "HIGH"),
        "waitlist.cleanup": ("0 2 * * *", "UTC", "LOW"),
    }
    assert settings.WAITLIST_RETENTION_DAYS == 30
