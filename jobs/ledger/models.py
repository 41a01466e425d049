"""The job ledger and the durable state around it (queue controls, worker heartbeats)."""

from django.db import models
from django.db.models import Q

from jobs.ledger.ids import uuid7
from jobs.ledger.priorities import Priority


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
    # Per-job hard time limit in seconds (the task's own when not given); published in the
    # message, so the worker enforces it.
    hard_time_limit = models.PositiveIntegerField(null=True, blank=True)
    # Per-job options (BullMQ's job options), NULL for the jobs that do not use them.
    # backoff: {"type": "exponential"|"fixed", "delay": ms}, overriding the task's backoff.
    backoff = models.JSONField(null=True, blank=True)
    # true (remove the row as it finishes that way) or {"age": seconds, "count": n}.
    remove_on_complete = models.JSONField(null=True, blank=True)
    remove_on_fail = models.JSONField(null=True, blank=True)
    # Set when a publish failed or a message was put back (paused queue, lost broker data):
    # the dispatcher publishes the job again.
    needs_publish = models.BooleanField(default=False)
    # Canvas (chain, group, chord, link): the workflow the job belongs to, the job whose
    # completion created it, and what its own end sets off (``jobs.ledger.workflows``:
    # the rest of its chain, link / link_error signatures, its chord). All NULL for a job
    # that is in no workflow, which is every job the hot path sees.
    workflow_id = models.UUIDField(null=True, blank=True)
    parent_id = models.UUIDField(null=True, blank=True)
    continuation = models.JSONField(null=True, blank=True)
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
            # The dedupe window (unique_for) looks a key up whatever the job's status.
            models.Index(
                fields=["job_key", "-created_at"],
                condition=Q(job_key__isnull=False),
                name="job_key_created",
            ),
            # The per-job retention sweep: only the finished jobs that carry an option.
            models.Index(
                fields=["task", "-finished_at"],
                condition=Q(status="completed", remove_on_complete__isnull=False),
                name="job_remove_on_complete",
            ),
            models.Index(
                fields=["task", "-finished_at"],
                condition=Q(status="failed", remove_on_fail__isnull=False),
                name="job_remove_on_fail",
            ),
            # A workflow's jobs (its page, its cancellation); only jobs in a workflow.
            models.Index(
                fields=["workflow_id"],
                condition=Q(workflow_id__isnull=False),
                name="job_workflow",
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


class AttemptOutcome(models.TextChoices):
    RETRIED = "retried", "Retried"
    FAILED = "failed", "Failed"
    LOST = "lost", "Worker lost"


class JobAttempt(models.Model):
    """One attempt of a job that ended without success (an error that was retried, the
    final failure, a worker that died under it). Written in the statement that ends the
    attempt; a successful attempt is the job row itself (attempts, worker, started_at,
    finished_at), so the hot path writes nothing here.

    The row goes with its job: on PostgreSQL the foreign key is ON DELETE CASCADE (added by
    migration 0006), so deleting jobs, by the ORM or by the ledger's own SQL, needs no
    collection pass in Python. Django's state has no constraint (``db_constraint=False``,
    ``DO_NOTHING``) for that reason; on SQLite the retention sweep removes orphans."""

    job = models.ForeignKey(
        Job, on_delete=models.DO_NOTHING, db_constraint=False, related_name="attempt_history"
    )
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=200, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    error = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["job", "id"]
        # The metrics rollup counts a minute's retries; only retried attempts are indexed.
        indexes = [
            models.Index(
                fields=["finished_at"],
                condition=Q(outcome="retried"),
                name="job_attempt_retried_finished",
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.job_id}: {self.outcome}"


class QueueState(models.Model):
    """Durable per-queue controls. The row named "*" pauses every queue."""

    ALL = "*"

    name = models.CharField(max_length=100, primary_key=True)
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Global rate limit shared by every worker: at most rate_limit_max starts per
    # rate_limit_duration milliseconds (BullMQ's limiter {max, duration}).
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
    # What a main process consumes and runs with, recorded once when it is ready (blank for
    # pool processes), for the operators' dashboard.
    queues = models.CharField(max_length=1000, blank=True, default="")
    pool = models.CharField(max_length=100, blank=True, default="")
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "worker process"
        verbose_name_plural = "worker processes"

    def __str__(self) -> str:
        return self.name


class Workflow(models.Model):
    """A canvas (chain, group, chord, link) enqueued through the ledger. Its id is Celery's
    root id: the first job's id (a chain, a link), the group's id (a group, a chord).

    The steps themselves are jobs (``Job.workflow_id``) once they exist, and
    ``WorkflowStep`` rows from the moment the canvas is enqueued, so a step that has not
    been created yet is known (its page, a revoke of its id)."""

    id = models.UUIDField(primary_key=True, editable=False)
    created_at = models.DateTimeField()
    # Set once by a cancel: no further step is created; the live ones are cancelled.
    cancelled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"workflow {self.id}"


class WorkflowStep(models.Model):
    """One task signature of a workflow, under the id its job has (or will have): Celery
    freezes every signature of a canvas with its task id when the canvas is applied."""

    id = models.UUIDField(primary_key=True, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    task = models.CharField(max_length=200)
    # How the step runs: "first", "chain", "link", "link_error", "group", "chord_body".
    role = models.CharField(max_length=20, default="chain")

    class Meta:
        ordering = ["workflow", "position", "id"]

    def __str__(self) -> str:
        return f"{self.task} [{self.id}] in {self.workflow_id}"


class WorkflowChord(models.Model):
    """A chord's counter, in the database: each header job's completion adds one in its own
    transaction; the one that reaches ``size`` creates the body's job in that transaction.
    The row lock orders the header jobs' completions, so the body is created exactly once."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"
        FIRED = "fired", "Body created"
        FAILED = "failed", "A header job failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, editable=False)  # the header group's id
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="chords")
    # The ids whose results the body receives, in the header's order (a chain in the
    # header counts by its last job).
    header_ids = models.JSONField(default=list)
    body = models.JSONField()
    size = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"chord {self.id} {self.done}/{self.size} {self.state}"
