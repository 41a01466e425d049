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
