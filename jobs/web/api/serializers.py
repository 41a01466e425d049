"""Input validation and output shapes of the job administration API."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.errors import InvalidInput
from jobs.ledger.enqueue import JobSpec, job_build
from jobs.ledger.models import Job
from jobs.ledger.priorities import Priority
from jobs.ledger.queues import known_queues
from jobs.ledger.retention import CLEANABLE
from jobs.ledger.selectors import LIST_STATUSES
from jobs.runtime.registry import ledger_task

PRIORITY_NAMES = [p.name for p in Priority]
CLEAN_STATUSES = sorted(CLEANABLE)
# job_build names the fields of JobSpec; the API calls two of them differently.
SPEC_FIELD_NAMES = {"countdown": "delay", "eta": "run_at"}


# --- output --------------------------------------------------------------------------------
class JobSerializer(serializers.ModelSerializer):
    priority = serializers.SerializerMethodField()
    priority_value = serializers.IntegerField(source="priority", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "task",
            "args",
            "kwargs",
            "queue",
            "priority",
            "priority_value",
            "status",
            "attempts",
            "max_attempts",
            "job_key",
            "progress",
            "progress_message",
            "result",
            "error",
            "worker",
            "created_at",
            "scheduled_for",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=PRIORITY_NAMES))
    def get_priority(self, job: Job) -> str:
        return job.priority_name


class JobDetailSerializer(JobSerializer):
    """One job with everything an operator needs to debug it."""

    class Meta(JobSerializer.Meta):
        fields = [
            *JobSerializer.Meta.fields,
            "traceback",
            "crash_count",
            "hard_time_limit",
            "needs_publish",
            "published_at",
        ]
        read_only_fields = fields


class LastHourSerializer(serializers.Serializer):
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    failureRate = serializers.FloatField(allow_null=True)  # noqa: N815 (the monitoring API's camelCase names)


class QueueMetricsSerializer(serializers.Serializer):
    """A queue's metrics, getQueueMetrics (rates in percent, times in milliseconds)."""

    queueName = serializers.CharField()  # noqa: N815
    waiting = serializers.IntegerField()
    active = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    delayed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    paused = serializers.IntegerField(help_text="Waiting jobs held back by a paused queue.")
    isPaused = serializers.BooleanField()  # noqa: N815
    total = serializers.IntegerField()
    completionRate = serializers.FloatField()  # noqa: N815
    failureRate = serializers.FloatField()  # noqa: N815
    avgProcessingTime = serializers.FloatField(  # noqa: N815
        allow_null=True, help_text="Completed jobs of the last hour, ms."
    )
    p95ProcessingTime = serializers.FloatField(allow_null=True)  # noqa: N815
    lastHour = LastHourSerializer()  # noqa: N815
    brokerDepth = serializers.IntegerField(  # noqa: N815
        allow_null=True, help_text="Messages in Redis; null when Redis does not answer."
    )


class ActivitySummarySerializer(serializers.Serializer):
    """The activity summary across queues (getJobActivitySummary)."""

    queues = QueueMetricsSerializer(many=True)
    totalJobs = serializers.IntegerField()  # noqa: N815
    activeJobs = serializers.IntegerField()  # noqa: N815
    completedJobs = serializers.IntegerField()  # noqa: N815
    failedJobs = serializers.IntegerField()  # noqa: N815
    waitingJobs = serializers.IntegerField()  # noqa: N815
    delayedJobs = serializers.IntegerField()  # noqa: N815
    cancelledJobs = serializers.IntegerField()  # noqa: N815
    overallCompletionRate = serializers.FloatField()  # noqa: N815
    overallFailureRate = serializers.FloatField()  # noqa: N815
    generatedAt = serializers.DateTimeField()  # noqa: N815


class QueueDetailSerializer(QueueMetricsSerializer):
    rateLimit = serializers.DictField(allow_null=True)  # noqa: N815


class HealthSerializer(serializers.Serializer):
    """The system health (getJobSystemHealth), plus the open alerts."""

    healthy = serializers.BooleanField()
    queues = serializers.DictField(help_text="{total, healthy, unhealthy, issues}")
    scheduledJobs = serializers.DictField(  # noqa: N815
        help_text="{total, running, stopped, missed, issues}"
    )
    workers = serializers.DictField(help_text="{total, active, processes, live, down, issues}")
    alerts = serializers.ListField(child=serializers.DictField())
    checkedAt = serializers.DateTimeField()  # noqa: N815


class QueueStatusSerializer(serializers.Serializer):
    """Queue health and statistics (``GET /api/jobs/status``)."""

    healthy = serializers.BooleanField()
    paused = serializers.BooleanField(help_text="All queues paused.")
    workers = serializers.IntegerField(help_text="Live worker main processes.")
    queues = serializers.DictField(child=serializers.DictField())


class QueueStateSerializer(serializers.Serializer):
    queue = serializers.CharField()
    paused = serializers.BooleanField()
    republishing = serializers.IntegerField(required=False)


class CountSerializer(serializers.Serializer):
    removed = serializers.IntegerField()


class BulkRetryResultSerializer(serializers.Serializer):
    retried = serializers.ListField(child=serializers.UUIDField())
    skipped = serializers.ListField(child=serializers.DictField())


class BulkEnqueueResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    jobs = JobSerializer(many=True)


class ScheduleSerializer(serializers.Serializer):
    name = serializers.CharField()
    task = serializers.CharField()
    enabled = serializers.BooleanField()
    running = serializers.BooleanField()
    cron = serializers.CharField(allow_null=True)
    interval_seconds = serializers.FloatField(allow_null=True)
    timezone = serializers.CharField()
    description = serializers.CharField()
    queue = serializers.CharField(allow_null=True)
    last_run = serializers.DateTimeField(allow_null=True)
    next_run = serializers.DateTimeField(allow_null=True)
    total_run_count = serializers.IntegerField()
    missed_slot = serializers.DateTimeField(allow_null=True)


class SchedulerSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    running = serializers.IntegerField()
    stopped = serializers.IntegerField()
    jobs = ScheduleSerializer(many=True)


class ScheduleRunSerializer(serializers.Serializer):
    name = serializers.CharField()
    job_id = serializers.CharField()


class CronPreviewSerializer(serializers.Serializer):
    cron = serializers.CharField()
    timezone = serializers.CharField()
    description = serializers.CharField()
    next = serializers.ListField(child=serializers.DateTimeField())


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- input ---------------------------------------------------------------------------------
def field_errors(exc: InvalidInput) -> dict:
    """A ledger validation error in the API's own field names (delay, run_at)."""
    if not exc.field:
        return {"non_field_errors": [exc.message]}
    return {SPEC_FIELD_NAMES.get(exc.field, exc.field): [exc.message]}


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": PRIORITY_NAMES},
            {"type": "integer", "minimum": 1, "maximum": 5},
        ]
    }
)
class PriorityField(serializers.CharField):
    """CRITICAL, HIGH, NORMAL, LOW, BATCH (any case) or 1-5."""

    def to_internal_value(self, data):
        try:
            return int(Priority.parse(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class EnqueueSerializer(serializers.Serializer):
    """One job (JobService ``schedule``): a registered task by name, with the ledger's options."""

    task = serializers.CharField(max_length=200, help_text="A registered @job_task name.")
    args = serializers.ListField(child=serializers.JSONField(), required=False, default=list)
    kwargs = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    queue = serializers.CharField(
        max_length=100, required=False, allow_null=True, help_text="Default: the task's queue."
    )
    priority = PriorityField(required=False, allow_null=True)
    delay = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, help_text="Milliseconds from now."
    )
    run_at = serializers.DateTimeField(required=False, allow_null=True)
    job_key = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Deduplication key: a live job with the same key is returned instead.",
    )
    max_attempts = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=100
    )

    def validate_task(self, value: str) -> str:
        if value.startswith("celery.") or ledger_task(value) is None:
            raise serializers.ValidationError(f"unknown task {value!r}: not a registered job task")
        return value

    def validate_run_at(self, value):
        if value is not None and value > timezone.now() + timedelta(days=3660):
            raise serializers.ValidationError("must be within ten years")
        return value

    def validate_delay(self, value):
        if value is not None and value > 3660 * 24 * 3600 * 1000:
            raise serializers.ValidationError("must be within ten years")
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs.get("delay") is not None and attrs.get("run_at") is not None:
            raise serializers.ValidationError({"run_at": ["give either delay or run_at, not both"]})
        spec = JobSpec(
            task=attrs["task"],
            args=attrs.get("args") or [],
            kwargs=attrs.get("kwargs") or {},
            queue=attrs.get("queue"),
            priority=attrs.get("priority"),
            countdown=None if attrs.get("delay") is None else attrs["delay"] / 1000,
            eta=attrs.get("run_at"),
            job_key=attrs.get("job_key") or None,
            max_attempts=attrs.get("max_attempts"),
        )
        try:
            # The service's own validation, so the API and the Python API agree.
            job_build(spec, now=timezone.now(), defaults=ledger_task(spec.task))
        except InvalidInput as exc:
            raise serializers.ValidationError(field_errors(exc)) from None
        attrs["spec"] = spec
        return attrs


class BulkEnqueueSerializer(serializers.Serializer):
    """Many jobs at once (JobService ``scheduleMany``): all or none."""

    jobs = EnqueueSerializer(many=True, allow_empty=False, max_length=1000)  # type: ignore[call-arg]


# A grace beyond this (about 100 years) would overflow the date arithmetic: 400, not 500.
MAX_GRACE_MS = 100 * 365 * 24 * 3600 * 1000


def limit_field(default: int, maximum: int = 1000) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, default=default, min_value=1, max_value=maximum)


# Every list pages with ?limit=&offset= (the project's one pagination style); the newest-first
# merge reads offset + limit rows per (queue, status), so the offset is bounded.
MAX_OFFSET = 10_000


def offset_field() -> serializers.IntegerField:
    return serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)


class JobListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LIST_STATUSES, required=False)
    queue = serializers.CharField(required=False)
    task = serializers.CharField(required=False)
    limit = limit_field(50)
    offset = offset_field()

    def validate_queue(self, value: str) -> str:
        if value not in known_queues():
            raise serializers.ValidationError(f"unknown queue {value!r}")
        return value


class QueueJobsQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LIST_STATUSES, required=False)
    limit = limit_field(10)
    offset = offset_field()


class LimitQuerySerializer(serializers.Serializer):
    limit = limit_field(50)
    offset = offset_field()


class CleanSerializer(serializers.Serializer):
    """A queue clean (BullMQ's clean(grace, status, limit))."""

    grace = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=MAX_GRACE_MS,
        help_text="Age in milliseconds.",
    )
    status = serializers.ChoiceField(choices=CLEAN_STATUSES, required=False, default="completed")
    limit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=1_000_000
    )


class FailedClearSerializer(serializers.Serializer):
    queue = serializers.CharField(required=False, allow_null=True)
    grace = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_GRACE_MS)

    def validate_queue(self, value):
        if value is not None and value not in known_queues():
            raise serializers.ValidationError(f"unknown queue {value!r}")
        return value


class FailedRetrySerializer(FailedClearSerializer):
    grace = None  # type: ignore[assignment]  # DRF's way to drop an inherited field
    job_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000)
    limit = limit_field(100)


class RetrySerializer(serializers.Serializer):
    reset_attempts = serializers.BooleanField(required=False, default=True)


class CronPreviewQuerySerializer(serializers.Serializer):
    cron = serializers.CharField(max_length=200)
    tz = serializers.CharField(required=False, default="UTC", max_length=100)
    n = serializers.IntegerField(required=False, default=5, min_value=1, max_value=100)
