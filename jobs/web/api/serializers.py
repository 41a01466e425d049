"""Input validation and output shapes of the job administration API."""

import re
import zoneinfo
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.errors import InvalidInput
from jobs.ledger import job_options
from jobs.ledger.enqueue import JobSpec, job_build
from jobs.ledger.models import Job, JobAttempt, JobStatus, WorkflowChord
from jobs.ledger.priorities import Priority
from jobs.ledger.retention import CLEANABLE
from jobs.ledger.selectors import LIST_STATUSES
from jobs.runtime.registry import ledger_task
from jobs.web.api.fields import QueueNameField, TaskNameField
from jobs.web.body import BodySerializer
from jobs.web.fields import StrictUUIDField
from jobs.web.query import QuerySerializer

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
            "workflow_id",
            "parent_id",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "workflow_id": {
                "help_text": "The workflow (chain, group, chord, link) the job is a step of."
            },
            "parent_id": {"help_text": "The job whose completion (or failure) created this one."},
        }

    @extend_schema_field(serializers.ChoiceField(choices=PRIORITY_NAMES))
    def get_priority(self, job: Job) -> str:
        return job.priority_name


class JobAttemptSerializer(serializers.ModelSerializer):
    """An attempt that ended without success: retried, failed, or its worker was lost."""

    class Meta:
        model = JobAttempt
        fields = ["number", "outcome", "worker", "started_at", "finished_at", "error", "traceback"]
        read_only_fields = fields


class JobDetailSerializer(JobSerializer):
    """One job with everything an operator needs to debug it."""

    attempts_history = JobAttemptSerializer(
        source="attempt_history",
        many=True,
        read_only=True,
        help_text="Every attempt that raised or lost its worker, oldest first. The last "
        "attempt of a completed job is the job itself (attempts, worker, started_at, "
        "finished_at).",
    )

    class Meta(JobSerializer.Meta):
        fields = [
            *JobSerializer.Meta.fields,
            "traceback",
            "crash_count",
            "hard_time_limit",
            "backoff",
            "remove_on_complete",
            "remove_on_fail",
            "needs_publish",
            "published_at",
            "attempts_history",
        ]
        read_only_fields = fields


WORKFLOW_STEP_STATUSES = ["pending", *[choice for choice, _ in JobStatus.choices]]


class WorkflowStepSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The step's job id (frozen by Celery at enqueue).")
    task = serializers.CharField()
    role = serializers.ChoiceField(
        choices=[
            "first",
            "chain",
            "link",
            "link_error",
            "group",
            "chord_header",
            "chord_body",
            "job",
        ],
    )
    position = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=WORKFLOW_STEP_STATUSES, help_text="pending: its job is not created yet."
    )
    parent_id = serializers.UUIDField(allow_null=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class WorkflowChordSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    size = serializers.IntegerField()
    done = serializers.IntegerField()
    state = serializers.ChoiceField(choices=[c for c, _ in WorkflowChord.State.choices])
    continue_on_failure = serializers.BooleanField(
        help_text="The body runs when header jobs fail too, their slots holding an error marker."
    )


class WorkflowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["running", "completed", "failed", "cancelled"])
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    steps = WorkflowStepSerializer(many=True)
    chords = WorkflowChordSerializer(many=True)


class LastHourSerializer(serializers.Serializer):
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    failureRate = serializers.FloatField(allow_null=True)  # noqa: N815 (the monitoring API's camelCase names)


class RollupSummarySerializer(serializers.Serializer):
    """A window of the metrics history (per-minute rollups): counts, throughput per minute,
    wait (due time to start) and run time percentiles in ms from the merged histograms."""

    enqueued = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    retried = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    completedPerMinute = serializers.FloatField()  # noqa: N815
    failedPerMinute = serializers.FloatField()  # noqa: N815
    waitP50Ms = serializers.FloatField(allow_null=True)  # noqa: N815
    waitP95Ms = serializers.FloatField(allow_null=True)  # noqa: N815
    runP50Ms = serializers.FloatField(allow_null=True)  # noqa: N815
    runP95Ms = serializers.FloatField(allow_null=True)  # noqa: N815


class HistorySerializer(serializers.Serializer):
    lastHour = RollupSummarySerializer()  # noqa: N815


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
    history = HistorySerializer(
        help_text="From the metrics rollups (closed minutes; kept after retention)."
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
    degraded = serializers.ListField(
        child=serializers.CharField(),
        help_text="Dependencies that are down and what still works meanwhile (Redis).",
    )
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
    run_on_init = serializers.BooleanField()


class ScheduleStatusSerializer(ScheduleSerializer):
    """One schedule (getJobStatus): the summary's row plus ``exists`` and its next runs."""

    exists = serializers.BooleanField()
    upcoming = serializers.ListField(child=serializers.DateTimeField())


class SchedulerSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    running = serializers.IntegerField()
    stopped = serializers.IntegerField()
    jobs = ScheduleSerializer(many=True)


class ScheduleRunSerializer(serializers.Serializer):
    name = serializers.CharField()
    job_id = serializers.CharField()


class CronPreviewSerializer(serializers.Serializer):
    cron = serializers.CharField(allow_null=True)
    every = serializers.IntegerField(allow_null=True)
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


# A priority's name in any case ("high", "High", "HIGH"), as an ECMA-262 pattern (JSON
# Schema's dialect has no case-insensitive flag): [Hh][Ii][Gg][Hh].
_ANY_CASE_NAMES = ("".join(f"[{c.upper()}{c.lower()}]" for c in n) for n in PRIORITY_NAMES)
PRIORITY_NAME_PATTERN = f"^(?:{'|'.join(_ANY_CASE_NAMES)})$"


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": PRIORITY_NAME_PATTERN},
            {"type": "integer", "minimum": 1, "maximum": 5},
        ]
    }
)
class PriorityField(serializers.Field):
    """CRITICAL, HIGH, NORMAL, LOW, BATCH (any case) or 1-5: exactly what the schema says
    (not " high " nor "3", which ``Priority.parse`` would also read)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float) and data.is_integer():
            data = int(data)  # JSON's 2.0 is the integer 2, as for IntegerField
        if isinstance(data, int) and not isinstance(data, bool) and 1 <= data <= 5:
            return data
        if isinstance(data, str) and re.fullmatch(PRIORITY_NAME_PATTERN, data):
            return int(Priority[data.upper()])
        raise serializers.ValidationError(
            f"invalid priority {data!r}: use 1-5 or CRITICAL, HIGH, NORMAL, LOW, BATCH"
        )

    def to_representation(self, value: Any) -> Any:
        return value


# About ten years: a delay beyond this, like a run_at beyond it, is refused.
MAX_DELAY_MS = 3660 * 24 * 3600 * 1000


class BackoffSerializer(BodySerializer):
    """BullMQ's backoff option: the delays before this job's retries."""

    type = serializers.ChoiceField(
        choices=list(job_options.BACKOFF_TYPES),
        required=False,
        default="exponential",
        help_text="exponential: delay, 2*delay, 4*delay, ...; fixed: delay every time.",
    )
    delay = serializers.IntegerField(
        min_value=0,
        max_value=job_options.MAX_BACKOFF_DELAY_MS,
        required=False,
        default=1000,
        help_text="Milliseconds.",
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "boolean"},
            {"type": "integer", "minimum": 0, "maximum": job_options.MAX_KEEP_COUNT},
            {
                "type": "object",
                "properties": {
                    "age": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": job_options.MAX_KEEP_AGE,
                        "description": "Seconds.",
                    },
                    "count": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": job_options.MAX_KEEP_COUNT,
                    },
                },
                "minProperties": 1,
                "additionalProperties": False,
            },
        ],
        "nullable": True,
    }
)
class RemovalField(serializers.Field):
    """BullMQ's removeOnComplete / removeOnFail: true (remove the job as it finishes that
    way), false (keep it: the global retention applies), n (keep the newest n of its task),
    or {"age": seconds, "count": n}."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return job_options.removal_option(data, field=self.field_name or "")
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.message) from None

    def to_representation(self, value: Any) -> Any:
        return value


class EnqueueSerializer(BodySerializer):
    """One job (JobService ``schedule``): a registered task by name, with the ledger's options."""

    task = TaskNameField(help_text="A registered @job_task name.")
    # Any JSON value, null too: .delay(None, x=None) is a job like any other.
    args = serializers.ListField(
        child=serializers.JSONField(allow_null=True), required=False, default=list
    )
    kwargs = serializers.DictField(
        child=serializers.JSONField(allow_null=True), required=False, default=dict
    )
    queue = QueueNameField(required=False, allow_null=True, help_text="Default: the task's queue.")
    priority = PriorityField(required=False, allow_null=True)
    delay = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_DELAY_MS,
        help_text="Milliseconds from now (at most ten years).",
    )
    run_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When to run; within ten years from now."
    )
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
    attempts = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=100,
        help_text="BullMQ's name for max_attempts.",
    )
    backoff = BackoffSerializer(
        required=False,
        allow_null=True,
        help_text="This job's retry delays, instead of its task's.",
    )
    timeout = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=settings.CELERY_BROKER_VISIBILITY_TIMEOUT - 1,
        help_text="Seconds this job may run (its hard time limit) before it fails; below "
        "the broker's visibility timeout.",
    )
    remove_on_complete = RemovalField(required=False, allow_null=True)
    remove_on_fail = RemovalField(required=False, allow_null=True)
    unique_for = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=job_options.MAX_UNIQUE_FOR,
        help_text="Seconds: with job_key, a job with that key that is live, or completed "
        "and created within this window, is returned instead of a new one.",
    )

    # validate(): delay and run_at exclude each other (null counts as not given).
    schema_rules = {
        "allOf": [
            {
                "not": {
                    "required": ["delay", "run_at"],
                    "properties": {"delay": {"type": "integer"}, "run_at": {"type": "string"}},
                }
            },
            {
                "not": {
                    "required": ["attempts", "max_attempts"],
                    "properties": {
                        "attempts": {"type": "integer"},
                        "max_attempts": {"type": "integer"},
                    },
                }
            },
            {
                "anyOf": [
                    {
                        "not": {
                            "required": ["unique_for"],
                            "properties": {"unique_for": {"type": "integer"}},
                        }
                    },
                    {
                        "required": ["job_key"],
                        "properties": {"job_key": {"type": "string", "minLength": 1}},
                    },
                ]
            },
        ],
        "description": "Give delay or run_at, not both; attempts or max_attempts, not both; "
        "unique_for only with a job_key.",
    }

    def validate_run_at(self, value):
        # Relative to the clock, so the schema cannot state it (only its description does).
        if value is not None and value > timezone.now() + timedelta(days=3660):
            raise serializers.ValidationError("must be within ten years")
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs.get("delay") is not None and attrs.get("run_at") is not None:
            raise serializers.ValidationError({"run_at": ["give either delay or run_at, not both"]})
        if attrs.get("attempts") is not None and attrs.get("max_attempts") is not None:
            raise serializers.ValidationError(
                {"attempts": ["give either attempts or max_attempts, not both"]}
            )
        backoff = attrs.get("backoff")
        spec = JobSpec(
            task=attrs["task"],
            args=attrs.get("args") or [],
            kwargs=attrs.get("kwargs") or {},
            queue=attrs.get("queue"),
            priority=attrs.get("priority"),
            countdown=None if attrs.get("delay") is None else attrs["delay"] / 1000,
            eta=attrs.get("run_at"),
            job_key=attrs.get("job_key") or None,
            max_attempts=attrs.get("max_attempts") or attrs.get("attempts"),
            backoff=dict(backoff) if backoff is not None else None,
            timeout=attrs.get("timeout"),
            remove_on_complete=attrs.get("remove_on_complete"),
            remove_on_fail=attrs.get("remove_on_fail"),
            unique_for=attrs.get("unique_for"),
        )
        try:
            # The service's own validation, so the API and the Python API agree.
            job_build(spec, now=timezone.now(), defaults=ledger_task(spec.task))
        except InvalidInput as exc:
            raise serializers.ValidationError(field_errors(exc)) from None
        attrs["spec"] = spec
        return attrs


class BulkEnqueueSerializer(BodySerializer):
    """Many jobs at once (JobService ``scheduleMany``): all or none, 1 to 1000 of them."""

    jobs = EnqueueSerializer(many=True, allow_empty=False, max_length=1000)  # type: ignore[call-arg]


# A grace beyond this (about 100 years) would overflow the date arithmetic: 400, not 500.
MAX_GRACE_MS = 100 * 365 * 24 * 3600 * 1000


def limit_field(default: int, maximum: int = 1000) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, default=default, min_value=1, max_value=maximum)


# Every list pages with ?limit=&offset= (the project's one pagination style); the newest-first
# merge reads offset + limit rows per (queue, status), so the offset is bounded.
MAX_OFFSET = 10_000
MAX_PAGE = 1000


def offset_field() -> serializers.IntegerField:
    return serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)


class PageQuerySerializer(QuerySerializer):
    """``?limit=&offset=``, or the source documents' ``getJobs(queue, status, start, end)``:
    ``?start=&end=`` with ``end`` the index of the last job, inclusive (``start=0&end=9`` is
    the first ten). ``start`` stands for ``offset`` and ``end`` for ``limit`` when given; a
    range longer than 1000 jobs is cut to its first 1000, and ``end`` before ``start`` is an
    empty page. Validated data holds ``limit`` and ``offset`` only."""

    start = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_OFFSET, help_text="Alias of offset."
    )
    end = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_OFFSET + MAX_PAGE,
        help_text="Index of the last job, inclusive (limit = end - start + 1, at most 1000).",
    )

    def validate(self, attrs):
        start = attrs.pop("start", None)
        end = attrs.pop("end", None)
        if start is not None:
            attrs["offset"] = start
        if end is not None:
            attrs["limit"] = max(0, min(end - attrs["offset"] + 1, MAX_PAGE))
        return attrs


class JobListQuerySerializer(PageQuerySerializer):
    status = serializers.ChoiceField(choices=LIST_STATUSES, required=False)
    queue = QueueNameField(required=False)
    task = serializers.CharField(required=False, max_length=200, trim_whitespace=False)
    limit = limit_field(50)
    offset = offset_field()


class QueueJobsQuerySerializer(PageQuerySerializer):
    status = serializers.ChoiceField(choices=LIST_STATUSES, required=False)
    limit = limit_field(10)
    offset = offset_field()


class LimitQuerySerializer(PageQuerySerializer):
    limit = limit_field(50)
    offset = offset_field()


class CleanSerializer(BodySerializer):
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


class FailedClearSerializer(BodySerializer):
    queue = QueueNameField(required=False, allow_null=True)
    grace = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_GRACE_MS)


class FailedRetrySerializer(FailedClearSerializer):
    grace = None  # type: ignore[assignment]  # DRF's way to drop an inherited field
    job_ids = serializers.ListField(child=StrictUUIDField(), required=False, max_length=1000)
    limit = limit_field(100)


class RetrySerializer(BodySerializer):
    reset_attempts = serializers.BooleanField(required=False, default=True)


def _cron_field(number: str) -> str:
    """One cron field: comma-separated ``*``, ``*/step``, ``n``, ``a-b`` or ``a-b/step``."""
    element = f"(?:\\*(?:/{CRON_STEP})?|(?:{number})(?:-(?:{number})(?:/{CRON_STEP})?)?)"
    return f"{element}(?:,{element})*"


CRON_STEP = "[1-9][0-9]{0,2}"
# Five fields separated by single spaces (minute 0-59, hour 0-23, day of month 1-31, month
# 1-12, day of week 0-6 or sun..sat), or six with a seconds field 0-59 first. Every
# expression it matches is one Celery's parser
# (jobs.scheduling.cron) reads; the preview refuses anything else, so the pattern in the
# schema is exactly what is accepted (Celery alone would also read " 1", "01", "1_0" or
# "monkey", which no client needs). \A and \Z, not ^ and $: Python's $ also matches before a
# final newline; drf-spectacular writes them as ECMA's ^ and $ in the schema.
CRON_PATTERN = "\\A(?:{} )?{}\\Z".format(
    _cron_field("[1-5]?[0-9]"),
    " ".join(
        _cron_field(number)
        for number in (
            "[1-5]?[0-9]",
            "1?[0-9]|2[0-3]",
            "[1-9]|[12][0-9]|3[01]",
            "[1-9]|1[0-2]",
            "[0-6]|sun|mon|tue|wed|thu|fri|sat",
        )
    ),
)
# Every IANA zone this machine knows ("localtime" is a machine's own alias, not a name).
TIMEZONES = sorted(zoneinfo.available_timezones() - {"localtime"})


class CronPreviewQuerySerializer(QuerySerializer):
    cron = serializers.RegexField(
        CRON_PATTERN,
        trim_whitespace=False,
        error_messages={"invalid": "not a cron expression: [second] minute hour day month weekday"},
        help_text="Five fields (minute hour day-of-month month day-of-week), or six with the "
        "seconds first: 0 */2 * * * * is every two minutes at second 0.",
    )
    tz = serializers.ChoiceField(choices=TIMEZONES, required=False, default="UTC")
    n = serializers.IntegerField(required=False, default=5, min_value=1, max_value=100)


# An interval's slots are computed from the Unix epoch; a year is the longest that is useful.
MAX_EVERY_SECONDS = 366 * 24 * 3600


class IntervalPreviewQuerySerializer(QuerySerializer):
    every = serializers.IntegerField(
        min_value=1, max_value=MAX_EVERY_SECONDS, help_text="Seconds between runs."
    )
    n = serializers.IntegerField(required=False, default=5, min_value=1, max_value=100)
