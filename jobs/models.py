"""The job ledger and the durable state around it (queue controls, worker heartbeats)."""

from django.db import models
from django.db.models import Q

from jobs.ids import uuid7
from jobs.priorities import Priority


class JobStatus(models.TextChoices):
    DELAYED = "delayed", "Delayed"
    WAITING = "waiting", "Waiting"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


LIVE_STATUSES = (JobStatus.DELAYED, JobStatus.WAITING, JobStatus.ACTIVE)
FINISHED_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """One unit of work. The row is the truth; the broker message only rings the bell."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=100, default="default")
    priority = models.PositiveSmallIntegerField(
        choices=[(p.value, p.name) for p in Priority], default=Priority.NORMAL
    )
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.WAITING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    # Deduplication and cancel-by-key (BullMQ's jobId): unique among live jobs only.
    job_key = models.CharField(max_length=200, null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=500, blank=True, default="")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    # "host:pid" of the process running the job; matched against WorkerProcess heartbeats.
    worker = models.CharField(max_length=200, blank=True, default="")
    # Times the job's worker process died under it; at JOBS_POISON_THRESHOLD it fails.
    crash_count = models.PositiveSmallIntegerField(default=0)
    hard_time_limit = models.PositiveIntegerField(null=True, blank=True)
    # Set when a publish failed or a message was put back (paused queue, lost broker data):
    # the dispatcher publishes the job again.
    needs_publish = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    scheduled_for = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # Every status change rewrites the row and adds an entry to each index whose
        # predicate the new version matches, so only two indexes cover all rows; the rest
        # are partial and hold just the few rows they serve.
        indexes = [
            # Operator lists and metrics: a queue's jobs of one status, newest first.
            models.Index(
                fields=["queue", "status", "-created_at"], name="job_queue_status_created"
            ),
            models.Index(
                fields=["-created_at"], condition=Q(status="failed"), name="job_failed_created"
            ),
            models.Index(fields=["worker"], condition=Q(status="active"), name="job_active_worker"),
            # The dispatcher's scans: due delayed jobs, jobs to (re)publish.
            models.Index(
                fields=["priority", "scheduled_for"],
                condition=Q(status="delayed"),
                name="job_delayed_due",
            ),
            models.Index(
                fields=["priority", "created_at"],
                condition=Q(needs_publish=True),
                name="job_needs_publish",
            ),
            # Retention and last-hour metrics.
            models.Index(
                fields=["finished_at"],
                condition=Q(finished_at__isnull=False),
                name="job_finished_at",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["job_key"],
                condition=Q(status__in=["delayed", "waiting", "active"], job_key__isnull=False),
                name="job_key_unique_while_live",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.task} [{self.id}] {self.status}"

    @property
    def priority_name(self) -> str:
        return Priority(self.priority).name

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class QueueState(models.Model):
    """Durable per-queue controls. The row named "*" pauses every queue."""

    ALL = "*"

    name = models.CharField(max_length=100, primary_key=True)
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Global rate limit shared by every worker: at most rate_limit_max starts per
    # rate_limit_duration milliseconds (seed 003's limiter {max, duration}).
    rate_limit_max = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_duration_ms = models.PositiveIntegerField(default=1000)

    class Meta:
        verbose_name = "queue"

    def __str__(self) -> str:
        return self.name


class WorkerProcess(models.Model):
    """Heartbeat of one worker process ("host:pid"); the reaper trusts nothing else."""

    name = models.CharField(max_length=200, primary_key=True)
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    role = models.CharField(max_length=20, default="child")
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.name


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
