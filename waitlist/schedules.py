"""The waitlist's periodic jobs, loaded into beat by ``manage.py sync_schedules``: the
expired-holds sweep every minute and the retention cleanup daily at 02:00 (UTC)."""

from jobs import EVERY_MINUTE, Schedule

SCHEDULES = [
    Schedule(
        name="waitlist.expired-holds",
        task="waitlist.process_expired_holds",
        cron=EVERY_MINUTE,
        timezone="UTC",
        queue="waitlist.holds",
        priority="HIGH",
        description="Release expired holds of every tenant and offer their slots onward.",
    ),
    Schedule(
        name="waitlist.cleanup",
        task="waitlist.cleanup",
        cron="0 2 * * *",
        timezone="UTC",
        queue="waitlist.cleanup",
        priority="LOW",
        description="Delete notifications and audit logs older than WAITLIST_RETENTION_DAYS.",
    ),
]
