"""The platform's own periodic jobs, found by ``manage.py sync_schedules`` like every app's.

The stager and the lifeline also run continuously in every worker's maintenance cycle; the
sweep here is their backstop when no worker runs the cycle (``JOBS_DISPATCHER_IN_WORKER``).
"""

from jobs.scheduling.declarations import Schedule
from jobs.scheduling.presets import DAILY_3AM, EVERY_MINUTE

SCHEDULES = [
    Schedule(
        name="jobs.maintenance-sweep",
        task="jobs.maintenance_sweep",
        cron=EVERY_MINUTE,
        queue="jobs.maintenance",
        priority="HIGH",
        description="Publish due/unpublished jobs, reap jobs of dead workers",
    ),
    Schedule(
        name="jobs.retention",
        task="jobs.apply_retention",
        cron=DAILY_3AM,
        queue="jobs.maintenance",
        priority="LOW",
        description="Remove finished jobs and Celery results past their retention",
    ),
    Schedule(
        name="jobs.alerts",
        task="jobs.evaluate_alerts",
        cron=EVERY_MINUTE,
        queue="jobs.maintenance",
        priority="HIGH",
        description="Evaluate the alert rules and mail the admins about new alerts",
    ),
]
