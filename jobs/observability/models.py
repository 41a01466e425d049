"""Alerts: one row per occurrence of an alert condition."""

from django.db import models
from django.db.models import Q


class AlertRule(models.TextChoices):
    FAILURE_RATE = "failure_rate", "Failure rate over the threshold in the last hour"
    QUEUE_BACKLOG = "queue_backlog", "Too many waiting jobs"
    SLOW_PROCESSING = "slow_processing", "Processing slower than its baseline"
    WORKER_DOWN = "worker_down", "Worker down"
    SCHEDULE_MISSED = "schedule_missed", "Scheduled job missed"


class Alert(models.Model):
    """One occurrence of an alert condition (rule + subject), from the evaluation that first
    saw it until the one that no longer does. At most one open row per (rule, subject): that
    constraint is what makes the admins' mail go out once, however many evaluations run."""

    rule = models.CharField(max_length=40, choices=AlertRule.choices)
    # What the alert is about: a queue, a worker ("host:pid") or a schedule name.
    subject = models.CharField(max_length=200)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=Q(resolved_at__isnull=True),
                name="alert_open_once",
            )
        ]
        indexes = [models.Index(fields=["-opened_at"], name="alert_opened")]

    def __str__(self) -> str:
        return f"{self.rule} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
