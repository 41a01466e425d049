from django.db import models


class Report(models.Model):
    """A generated report: the GENERATE_REPORT handler's effect."""

    report_type = models.CharField(max_length=20)
    user_id = models.CharField(max_length=100)
    parameters = models.JSONField(default=dict)
    rows = models.PositiveIntegerField(default=0)
    # The job that generated it: a second run of that job finds the report made.
    job_id = models.CharField(max_length=36, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "examples"

    def __str__(self) -> str:
        return f"{self.report_type} report for {self.user_id}"
