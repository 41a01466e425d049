"""What the scheduler records: one row per schedule slot that fired."""

from django.db import models


class ScheduleFire(models.Model):
    """One row per (schedule, slot) that fired. The unique constraint is what stops a second
    beat process from firing the same slot again; the rows also show missed runs."""

    schedule = models.CharField(max_length=200)
    slot = models.DateTimeField()
    fired_at = models.DateTimeField()
    job_id = models.CharField(max_length=64, blank=True, default="")
    scheduler = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["schedule", "slot"], name="schedule_fire_once")
        ]
        indexes = [models.Index(fields=["schedule", "-slot"], name="schedule_fire_latest")]

    def __str__(self) -> str:
        return f"{self.schedule} @ {self.slot.isoformat()}"


class ScheduleOptions(models.Model):
    """What django-celery-beat's PeriodicTask cannot hold: the seconds field of a six-field
    cron expression (its CrontabSchedule keeps the other five, so the stock admin, Flower and
    ``celery inspect`` still read them) and whether the schedule fires once when beat starts.
    A schedule without a row fires at second 0 and not at start-up."""

    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        on_delete=models.CASCADE,
        related_name="ledger_options",
    )
    second = models.CharField(
        max_length=200,
        default="0",
        help_text="Cron seconds field (0-59, '*', '*/15', '0,30'): the first of six fields.",
    )
    run_on_init = models.BooleanField(
        default=False, help_text="Fire once whenever beat starts, besides the schedule."
    )

    class Meta:
        verbose_name = "schedule options"
        verbose_name_plural = "schedule options"

    def __str__(self) -> str:
        return f"options of {self.periodic_task_id}"
