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


class RollupPeriod(models.TextChoices):
    MINUTE = "minute", "Minute"
    HOUR = "hour", "Hour"


class MetricsRollup(models.Model):
    """What the jobs of one queue did in one closed minute (or hour, once minutes are
    compacted), kept after the jobs themselves are removed by retention.

    Counts are by the time the outcome happened (finished_at; enqueued by created_at).
    ``wait_hist`` (enqueue or due time to start) and ``run_hist`` (start to finish) count
    the completed and failed jobs per fixed log-spaced bucket (``jobs.observability.rollups.
    BUCKETS_MS``), so the histograms of any set of minutes add up to exactly the histogram of
    all their jobs, and percentiles over an hour or a week come from that sum."""

    period = models.CharField(max_length=6, choices=RollupPeriod.choices)
    queue = models.CharField(max_length=100)
    start = models.DateTimeField()
    enqueued = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    retried = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    wait_hist = models.JSONField(default=list)
    run_hist = models.JSONField(default=list)
    wait_p50_ms = models.FloatField(null=True, blank=True)
    wait_p95_ms = models.FloatField(null=True, blank=True)
    run_p50_ms = models.FloatField(null=True, blank=True)
    run_p95_ms = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "queue", "start"], name="metrics_rollup_once")
        ]
        indexes = [models.Index(fields=["period", "start"], name="metrics_rollup_period_start")]

    def __str__(self) -> str:
        return f"{self.queue} {self.period} {self.start:%Y-%m-%d %H:%M}"


class RollupWatermark(models.Model):
    """Where the rollup stands: every minute before ``rolled_until`` is rolled up. One row
    (name "metrics"); retention keeps every finished job at or after it."""

    name = models.CharField(max_length=40, primary_key=True)
    rolled_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} rolled until {self.rolled_until:%Y-%m-%d %H:%M}"
