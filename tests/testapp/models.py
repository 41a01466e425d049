from django.db import models


class SideEffect(models.Model):
    """One row per effect a test task performed: duplicates show up as extra rows."""

    key = models.CharField(max_length=200, db_index=True)
    job_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
