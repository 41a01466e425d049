"""Django admin for the job platform: the ledger, queue controls, workers, schedules, alerts.

State changes go through the ledger's operations (jobs.ledger), exactly as the REST API does: the
admin never edits a ledger row by hand.
"""

import json
import uuid
from datetime import UTC, datetime

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Q, QuerySet
from django.utils.html import format_html, format_html_join
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from jobs.errors import InvalidInput
from jobs.ledger import operations, queues
from jobs.ledger.models import Job, JobAttempt, JobStatus, QueueState, WorkerProcess
from jobs.ledger.priorities import Priority
from jobs.ledger.workers import heartbeat_cutoff, live_workers
from jobs.observability.models import Alert
from jobs.runtime.registry import ledger_task_names
from jobs.scheduling.cron import CronSpec
from jobs.scheduling.models import ScheduleFire, ScheduleOptions
from jobs.scheduling.scheduler import schedule_spec_of
from jobs.web.admin_actions import run_for_each


def flower_link(path: str = "", label: str = "Open Flower") -> str:
    base = settings.FLOWER_URL.rstrip("/")
    return format_html('<a href="{}{}" target="_blank" rel="noopener">{}</a>', base, path, label)


def _pretty_json(value) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


def _pre(text: str) -> str:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text or "-")


class QueueFilter(admin.SimpleListFilter):
    """The declared queues (no SELECT DISTINCT over the whole ledger)."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(q, q) for q in queues.queue_names()]

    def queryset(self, request, queryset):
        return queryset.filter(queue=self.value()) if self.value() else queryset


class TaskFilter(admin.SimpleListFilter):
    """The registered ledger tasks (no SELECT DISTINCT over the whole ledger)."""

    title = "task"
    parameter_name = "task"

    def lookups(self, request, model_admin):
        return [(name, name) for name in ledger_task_names()]

    def queryset(self, request, queryset):
        return queryset.filter(task=self.value()) if self.value() else queryset


class JobAttemptInline(admin.TabularInline):
    """The attempts that raised or lost their worker, oldest first (read-only: the engine
    writes them). The last attempt of a completed job is the job itself."""

    model = JobAttempt
    verbose_name = "earlier attempt"
    verbose_name_plural = "attempts history (attempts that did not succeed)"
    fields = ("number", "outcome", "worker", "started_at", "finished_at", "error", "traceback_text")
    readonly_fields = fields
    ordering = ["id"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="traceback")
    def traceback_text(self, attempt: JobAttempt) -> str:
        return _pre(attempt.traceback)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    inlines = [JobAttemptInline]
    list_display = [
        "short_id",
        "task",
        "queue",
        "status",
        "priority_label",
        "attempts_label",
        "progress",
        "created_at",
        "started_at",
        "finished_at",
    ]
    list_filter = [
        QueueFilter,
        "status",
        TaskFilter,
        "priority",
        ("created_at", admin.DateFieldListFilter),
        ("finished_at", admin.DateFieldListFilter),
        ("scheduled_for", admin.DateFieldListFilter),
    ]
    search_fields = ["task", "job_key"]
    search_help_text = "A job id, a job key, or (the start of) a task name."
    # Ids are UUIDv7, minted with created_at: newest first by primary key is the same order,
    # served by the primary key index instead of a sort of the whole ledger.
    ordering = ["-id"]
    list_per_page = 50
    # An exact count of a million-row ledger on every page view is the slowest query here.
    show_full_result_count = False
    actions = ["retry_jobs", "cancel_jobs", "run_jobs_now", "remove_jobs"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "task",
                    "queue",
                    "status",
                    "priority_label",
                    "job_key",
                    "attempts",
                    "max_attempts",
                    "progress_bar",
                    "worker_link",
                ]
            },
        ),
        ("Call", {"fields": ["args_json", "kwargs_json"]}),
        ("Outcome", {"fields": ["result_json", "error", "traceback_text"]}),
        (
            "Timing",
            {
                "fields": [
                    "created_at",
                    "scheduled_for",
                    "published_at",
                    "started_at",
                    "finished_at",
                    "dwell_time",
                    "run_time",
                ]
            },
        ),
        (
            "Delivery",
            {
                "classes": ["collapse"],
                "fields": [
                    "crash_count",
                    "needs_publish",
                    "hard_time_limit",
                    "backoff",
                    "remove_on_complete",
                    "remove_on_fail",
                ],
            },
        ),
    ]
    # The ledger is written by the platform only: every field shown is read-only.
    readonly_fields = flatten_fieldsets(fieldsets)

    # Jobs are created by enqueueing (code, API), never typed into a form; removing goes
    # through job_remove (an active job cannot be removed under its worker).
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(id=uuid.UUID(term)), False
        except ValueError:
            pass
        return queryset.filter(Q(job_key=term) | Q(task__startswith=term)), False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "flower_url": settings.FLOWER_URL}
        return super().changelist_view(request, extra_context)

    @admin.display(description="id", ordering="id")
    def short_id(self, job: Job) -> str:
        return str(job.id)[:13] + "…"

    @admin.display(description="priority", ordering="priority")
    def priority_label(self, job: Job) -> str:
        return Priority(job.priority).name

    @admin.display(description="attempts")
    def attempts_label(self, job: Job) -> str:
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description="progress")
    def progress_bar(self, job: Job) -> str:
        return format_html(
            '<progress max="100" value="{}"></progress> {}% {}',
            job.progress,
            job.progress,
            job.progress_message,
        )

    @admin.display(description="worker")
    def worker_link(self, job: Job) -> str:
        if not job.worker:
            return "-"
        return format_html("{} ({})", job.worker, flower_link("/workers", "Flower"))

    @admin.display(description="args")
    def args_json(self, job: Job) -> str:
        return _pretty_json(job.args)

    @admin.display(description="kwargs")
    def kwargs_json(self, job: Job) -> str:
        return _pretty_json(job.kwargs)

    @admin.display(description="result")
    def result_json(self, job: Job) -> str:
        return _pretty_json(job.result)

    @admin.display(description="traceback")
    def traceback_text(self, job: Job) -> str:
        return _pre(job.traceback)

    @admin.display(description="waited (enqueue to start)")
    def dwell_time(self, job: Job) -> str:
        if not job.started_at:
            return "-"
        return f"{(job.started_at - job.scheduled_for).total_seconds():.3f} s"

    @admin.display(description="ran for")
    def run_time(self, job: Job) -> str:
        if not (job.started_at and job.finished_at):
            return "-"
        return f"{(job.finished_at - job.started_at).total_seconds():.3f} s"

    def _each(self, request, queryset: QuerySet, done: str, operation) -> None:
        ids = [str(job_id) for job_id in queryset.values_list("id", flat=True)]
        run_for_each(self, request, ids, operation, done=f"{done} job(s)")

    @admin.action(description="Retry selected finished jobs", permissions=["change"])
    def retry_jobs(self, request, queryset):
        self._each(request, queryset, "Retried", lambda i: operations.job_retry(job_id=i))

    @admin.action(description="Cancel selected delayed/waiting jobs", permissions=["change"])
    def cancel_jobs(self, request, queryset):
        self._each(request, queryset, "Cancelled", lambda i: operations.job_cancel(job_id=i))

    @admin.action(description="Run selected delayed jobs now", permissions=["change"])
    def run_jobs_now(self, request, queryset):
        self._each(request, queryset, "Made due", lambda i: operations.job_run_now(job_id=i))

    @admin.action(description="Remove selected jobs (not active ones)", permissions=["change"])
    def remove_jobs(self, request, queryset):
        self._each(request, queryset, "Removed", lambda i: operations.job_remove(job_id=i))


@admin.register(QueueState)
class QueueStateAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "paused",
        "paused_at",
        "waiting",
        "rate_limit_max",
        "rate_limit_duration_ms",
    ]
    list_filter = ["paused"]
    readonly_fields = ["name", "paused", "paused_at"]
    fields = ["name", "paused", "paused_at", "rate_limit_max", "rate_limit_duration_ms"]
    actions = ["pause_queues", "resume_queues"]

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # Every declared queue (and "*" = all queues) gets a row to act on.
        names = [QueueState.ALL, *queues.queue_names()]
        QueueState.objects.bulk_create([QueueState(name=n) for n in names], ignore_conflicts=True)
        return super().changelist_view(request, extra_context)

    @admin.display(description="waiting jobs")
    def waiting(self, state: QueueState) -> int:
        jobs = Job.objects.filter(status=JobStatus.WAITING)
        if state.name != QueueState.ALL:
            jobs = jobs.filter(queue=state.name)
        return jobs.count()

    @admin.action(description="Pause selected queues", permissions=["change"])
    def pause_queues(self, request, queryset):
        for name in queryset.values_list("name", flat=True):
            queues.queue_pause(queue=name)
        self.message_user(request, "Paused; their jobs stay waiting until resumed.")

    @admin.action(description="Resume selected queues", permissions=["change"])
    def resume_queues(self, request, queryset):
        total = sum(queues.queue_resume(queue=n) for n in queryset.values_list("name", flat=True))
        self.message_user(request, f"Resumed; {total} held job(s) will be published.")


class LiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return [("yes", "live"), ("no", "dead")]

    def queryset(self, request, queryset):
        live = live_workers().values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=live)
        if self.value() == "no":
            return queryset.exclude(pk__in=live)
        return queryset


@admin.register(WorkerProcess)
class WorkerProcessAdmin(admin.ModelAdmin):
    """Heartbeats of worker processes: read-only. Live details (tasks, pools, queues) are in
    Flower."""

    list_display = ["name", "role", "hostname", "pid", "started_at", "last_seen", "live", "flower"]
    list_filter = ["role", LiveFilter, "hostname"]
    search_fields = ["name", "hostname"]
    ordering = ["-last_seen"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(boolean=True, description="live")
    def live(self, worker: WorkerProcess) -> bool:
        return worker.last_seen >= heartbeat_cutoff()

    @admin.display(description="Flower")
    def flower(self, worker: WorkerProcess) -> str:
        return flower_link("/workers", "workers")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "flower_url": settings.FLOWER_URL}
        return super().changelist_view(request, extra_context)


@admin.register(ScheduleFire)
class ScheduleFireAdmin(admin.ModelAdmin):
    list_display = ["schedule", "slot", "fired_at", "job_link", "scheduler"]
    list_filter = ["schedule"]
    search_fields = ["schedule", "job_id"]
    date_hierarchy = "slot"
    ordering = ["-slot"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="job")
    def job_link(self, fire: ScheduleFire) -> str:
        if not fire.job_id:
            return "-"
        return format_html('<a href="../job/{}/change/">{}</a>', fire.job_id, fire.job_id)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["rule", "subject", "message", "opened_at", "last_seen_at", "resolved_at"]
    list_filter = ["rule", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "message"]
    ordering = ["-opened_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ScheduleOptionsForm(forms.ModelForm):
    class Meta:
        model = ScheduleOptions
        fields = ("second", "run_on_init")

    def clean_second(self) -> str:
        second = self.cleaned_data["second"].strip() or "0"
        try:
            CronSpec(f"{second} * * * * *")
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None
        return second


class ScheduleOptionsInline(admin.StackedInline):
    """The seconds field of a six-field cron expression (``0 */2 * * * *``: seconds "0" here,
    the other five in the crontab) and the start-up fire."""

    model = ScheduleOptions
    form = ScheduleOptionsForm
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = "seconds field and start-up fire"


# django-celery-beat's PeriodicTask admin, plus the next fire times computed the way the
# scheduler computes them (jobs.cron: the schedule's timezone, the DST policy, the seconds).
class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    inlines = (*getattr(BeatPeriodicTaskAdmin, "inlines", ()), ScheduleOptionsInline)
    readonly_fields = (*BeatPeriodicTaskAdmin.readonly_fields, "upcoming_runs")
    fieldsets = (
        *BeatPeriodicTaskAdmin.fieldsets[:2],
        ("Upcoming runs", {"fields": ("upcoming_runs",), "classes": ("extrapretty", "wide")}),
        *BeatPeriodicTaskAdmin.fieldsets[2:],
    )

    @admin.display(description="next 5 runs")
    def upcoming_runs(self, task: PeriodicTask) -> str:
        if task is None or task.pk is None:
            return "-"
        try:
            spec = schedule_spec_of(task)
        except ValueError as exc:
            return f"invalid schedule: {exc}"
        if spec is None:
            return "only crontab and interval schedules are previewed"
        fires = spec.next_fires(datetime.now(UTC), 5)
        state = "" if task.enabled else " (disabled: these will not fire until enabled)"
        return format_html(
            "<div>{}{}</div><ul>{}</ul>",
            spec.describe(),
            state,
            format_html_join(
                "", "<li>{}</li>", ((f.astimezone(spec.zone).isoformat(),) for f in fires)
            ),
        )


if admin.site.is_registered(PeriodicTask):
    admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicTaskAdmin)
