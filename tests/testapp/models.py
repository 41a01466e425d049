from django.db import models


class SideEffect(models.Model):
    """One row per effect a test task performed: duplicates show up as extra rows."""

    key = models.CharField(max_length=200, db_index=True)
    job_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class ChaosEffect(models.Model):
    """One row per effect a chaos-soak task performed (``chaos/``): the audit counts them per
    job. ``pid``/``parent_pid`` name the pool process and the worker's main process that ran
    the attempt, so a duplicate effect can be matched against the soak's kill log."""

    job_id = models.CharField(max_length=64, db_index=True)
    task = models.CharField(max_length=100)
    attempt = models.PositiveIntegerField()
    pid = models.PositiveIntegerField()
    parent_pid = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.task} {self.job_id} #{self.attempt}"
