"""Django admin for the job platform: the ledger, queue controls, workers, schedules, alerts.

State changes go through the ledger's operations (jobs.ledger), exactly as the REST API does: the
admin never edits a ledger row by hand. The ledger's own rows (jobs, attempts, worker
heartbeats, schedule fires, alerts) are read-only here; the operations that change a job are
buttons on its page and list actions, each behind a confirmation page.
"""

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.admin import PeriodicTaskForm as BeatPeriodicTaskForm
from django_celery_beat.models import PeriodicTask

from jobs.errors import ApplicationError, InvalidInput
from jobs.ledger import operations, queues, workflows
from jobs.ledger.failure_groups import FAILURE_SCAN_ROWS, failure_group, failure_groups
from jobs.ledger.models import Job, JobAttempt, JobStatus, QueueState, WorkerProcess
from jobs.ledger.priorities import Priority
from jobs.ledger.workers import heartbeat_cutoff, live_workers
from jobs.observability.models import Alert
from jobs.runtime.registry import ledger_task_names
from jobs.scheduling.cron import CronSpec
from jobs.scheduling.models import ScheduleFire, ScheduleOptions
from jobs.scheduling.scheduler import schedule_spec_of
from jobs.web.admin_actions import confirmed, run_for_each
from jobs.web.job_timeline import job_timeline


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


class CappedCountPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows (``SELECT COUNT(*) FROM (... LIMIT n)``): an
    exact count of a million-row ledger, filtered or not, is the slowest query of the job
    list, and nobody pages that far. The list says "more than COUNT_CAP" past it."""

    @cached_property
    def count(self) -> int:
        queryset: QuerySet = self.object_list  # type: ignore[assignment]
        return queryset[: COUNT_CAP + 1].count()


COUNT_CAP = 10_000
# Text search (part of a key, an error, args) reads the newest jobs only, walking the
# primary key: a substring match has no index to use on a ledger of millions of rows.
SEARCH_SCAN_ROWS = 100_000
_HEX_PREFIX = re.compile(r"[0-9a-f]{4,32}")


def _seconds(value: datetime | None) -> str:
    """A time to the second, in the admin's time zone, for a list cell: it may wrap between
    the date and the clock, never inside either."""
    if not value:
        return "-"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}"><span class="nowrap">{}</span> <span class="nowrap">{}</span></time>',
        local.isoformat(),
        f"{local:%Y-%m-%d}",
        f"{local:%H:%M:%S}",
    )


def _precise(value: datetime | None) -> str:
    if not value:
        return "-"
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 1000:03d} {local:%Z}"


def _breakable(name: str) -> str:
    """A dotted name that may wrap after its dots and underscores (and nowhere else)."""
    parts = re.split(r"(?<=[._])", name)
    return format_html_join(mark_safe("<wbr>"), "{}", ((part,) for part in parts))


class RecentDateFilter(admin.DateFieldListFilter):
    """Django's date filter plus the windows an operator looks at first: the past hour and
    the past 24 hours."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        now = timezone.now().replace(microsecond=0)
        until = str(now + timedelta(minutes=1))
        recent = tuple(
            (label, {self.lookup_kwarg_since: str(now - delta), self.lookup_kwarg_until: until})
            for label, delta in (
                ("Past hour", timedelta(hours=1)),
                ("Past 24 hours", timedelta(days=1)),
            )
        )
        self.links = (self.links[0], *recent, *self.links[1:])


@dataclass(frozen=True)
class JobOperation:
    """A button on the job page: what it is called, which states allow it, the service."""

    name: str
    label: str
    statuses: tuple[str, ...]
    call: Callable[[str], object]
    question: str
    # Offered only on a step of a workflow that is still going.
    workflow_only: bool = False


def _cancel_workflow_of(job_id: str) -> int:
    workflow_id = workflows.workflow_of(job_id)
    return workflows.workflow_cancel(workflow_id=workflow_id) if workflow_id else 0


JOB_OPERATIONS = {
    op.name: op
    for op in (
        JobOperation(
            "retry",
            "Retry",
            (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.COMPLETED),
            lambda i: operations.job_retry(job_id=i),
            "Run this job again, with a fresh set of attempts?",
        ),
        JobOperation(
            "cancel",
            "Cancel",
            (JobStatus.DELAYED, JobStatus.WAITING),
            lambda i: operations.job_cancel(job_id=i),
            "Cancel this job? It will not run.",
        ),
        JobOperation(
            "run-now",
            "Run now",
            (JobStatus.DELAYED,),
            lambda i: operations.job_run_now(job_id=i),
            "Make this delayed job due now?",
        ),
        JobOperation(
            "remove",
            "Remove",
            (
                JobStatus.DELAYED,
                JobStatus.WAITING,
                JobStatus.COMPLETED,
                JobStatus.FAILED,
                JobStatus.CANCELLED,
            ),
            lambda i: operations.job_remove(job_id=i),
            "Remove this job and its attempts history from the ledger? This cannot be undone.",
        ),
        JobOperation(
            "cancel-workflow",
            "Cancel workflow",
            tuple(JobStatus),
            _cancel_workflow_of,
            "Cancel this job's whole workflow? No further step starts; a step already "
            "running finishes but sets nothing off.",
            workflow_only=True,
        ),
    )
}

FAILURE_GROUP_OPERATIONS = {
    "retry": ("Retry all", "Retried", lambda i: operations.job_retry(job_id=i)),
    "remove": ("Remove all", "Removed", lambda i: operations.job_remove(job_id=i)),
}


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """The ledger, read-only: rows change only through the ledger's operations (the
    buttons on a job's page and the list's actions, each behind a confirmation page), so a
    stale form can never write over what a worker recorded."""

    list_display = [
        "short_id",
        "task_name",
        "queue_name",
        "status",
        "priority_label",
        "attempts_label",
        "progress",
        "created",
        "scheduled",
        "started",
        "finished",
    ]
    list_filter = [
        QueueFilter,
        "status",
        TaskFilter,
        "priority",
        ("created_at", RecentDateFilter),
        ("finished_at", RecentDateFilter),
        ("scheduled_for", admin.DateFieldListFilter),
    ]
    search_fields = ["task", "job_key"]  # the search box; get_search_results does the work
    search_help_text = (
        "A job id or its first 8 characters, a job key, the start of a task name; or any "
        f"part of a job key, an error or the args (among the newest {SEARCH_SCAN_ROWS:,} jobs)."
    )
    # Ids are UUIDv7, minted with created_at: newest first by primary key is the same order,
    # served by the primary key index instead of a sort of the whole ledger.
    ordering = ["-id"]
    list_per_page = 50
    paginator = CappedCountPaginator
    # An exact count of a million-row ledger on every page view is the slowest query here.
    show_full_result_count = False
    actions = ["retry_jobs", "cancel_jobs", "run_jobs_now", "remove_jobs"]
    change_form_template = "admin/jobs/job/change_form.html"
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
                    "created_at_s",
                    "scheduled_for_s",
                    "published_at_s",
                    "started_at_s",
                    "finished_at_s",
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
    readonly_fields = flatten_fieldsets(fieldsets)

    # Jobs are created by enqueueing (code, API), never typed into a form, and no form
    # writes a ledger row: no add, no change (the page is a view without Save), no delete
    # (removing goes through job_remove: an active job cannot be removed under its worker).
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_operate_permission(self, request, obj=None) -> bool:
        """Who may retry, cancel, run now and remove: staff with Django's "change job"
        permission (the form itself never saves)."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(id=uuid.UUID(term)), False
        except ValueError:
            pass
        found = Q(job_key=term)
        digits = term.lower().replace("-", "")
        if _HEX_PREFIX.fullmatch(digits):
            # The short id shown in the list (or any longer start of an id): a range of the
            # primary key.
            low = int(digits.ljust(32, "0"), 16)
            high = int(digits.ljust(32, "f"), 16)
            found |= Q(id__gte=uuid.UUID(int=low), id__lte=uuid.UUID(int=high))
        text = (
            Q(task__startswith=term)
            | Q(job_key__icontains=term)
            | Q(error__icontains=term)
            | Q(args__icontains=term)
        )
        oldest = (
            Job.objects.order_by("-id")
            .values_list("id", flat=True)[SEARCH_SCAN_ROWS - 1 : SEARCH_SCAN_ROWS]
            .first()
        )
        found |= text & Q(id__gte=oldest) if oldest is not None else text
        return queryset.filter(found), False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "flower_url": settings.FLOWER_URL,
            "count_cap": COUNT_CAP,
            "failures_url": reverse("admin:jobs_job_failures"),
            # Eleven columns and the filters need the whole width of a 1400 px window; the
            # app list stays on the admin's home page and in the breadcrumbs.
            "is_nav_sidebar_enabled": False,
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        extra: dict = {}
        if job is not None:
            attempts = list(JobAttempt.objects.filter(job_id=job.pk).order_by("id"))
            extra["timeline"] = job_timeline(job=job, attempts=attempts)
            workflow = workflows.workflow_detail(str(job.pk)) if job.workflow_id else None
            extra["workflow"] = workflow
            going = workflow is not None and workflow["status"] == "running"
            if self.has_operate_permission(request):
                extra["job_operations"] = [
                    {
                        "name": op.name,
                        "label": op.label,
                        "url": reverse("admin:jobs_job_operation", args=[job.pk, op.name]),
                    }
                    for op in JOB_OPERATIONS.values()
                    if job.status in op.statuses and (going or not op.workflow_only)
                ]
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_urls(self):
        own = [
            path(
                "failures/",
                self.admin_site.admin_view(self.failures_view),
                name="jobs_job_failures",
            ),
            path(
                "failures/<str:key>/<str:operation>/",
                self.admin_site.admin_view(self.failure_group_view),
                name="jobs_job_failure_group",
            ),
            path(
                "<path:object_id>/operate/<str:operation>/",
                self.admin_site.admin_view(self.operation_view),
                name="jobs_job_operation",
            ),
        ]
        return own + super().get_urls()

    def _page(self, request, title: str, **context) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": title,
            **context,
        }

    def operation_view(self, request, object_id: str, operation: str):
        op = JOB_OPERATIONS.get(operation)
        if op is None:
            raise Http404(f"operation: no {operation!r}")
        if not self.has_operate_permission(request):
            raise PermissionDenied
        job = self.get_object(request, object_id)
        if job is None:
            raise Http404("job: no such job")
        change_url = reverse("admin:jobs_job_change", args=[job.pk])
        if request.method == "POST":
            try:
                outcome = op.call(str(job.pk))
            except (ApplicationError, ObjectDoesNotExist) as exc:
                reason = exc.message if isinstance(exc, ApplicationError) else str(exc)
                self.message_user(request, f"{op.label}: not done ({reason}).", messages.WARNING)
                return HttpResponseRedirect(change_url)
            if outcome is False:
                status = Job.objects.filter(pk=job.pk).values_list("status", flat=True).first()
                self.message_user(
                    request,
                    f"{op.label}: not done (the job is {status or 'gone'} now).",
                    messages.WARNING,
                )
                return HttpResponseRedirect(change_url)
            self.message_user(request, f"{op.label}: done.", messages.SUCCESS)
            if op.name == "remove":
                return HttpResponseRedirect(reverse("admin:jobs_job_changelist"))
            return HttpResponseRedirect(change_url)
        return TemplateResponse(
            request,
            "admin/jobs/job/confirm_operation.html",
            self._page(
                request,
                op.question,
                job=job,
                operation=op,
                allowed=job.status in op.statuses,
                change_url=change_url,
            ),
        )

    def failures_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        groups, read = failure_groups()
        return TemplateResponse(
            request,
            "admin/jobs/job/failures.html",
            self._page(
                request,
                "Failed jobs by task and error",
                groups=groups,
                read=read,
                scan=FAILURE_SCAN_ROWS,
                can_operate=self.has_operate_permission(request),
            ),
        )

    def failure_group_view(self, request, key: str, operation: str):
        spec = FAILURE_GROUP_OPERATIONS.get(operation)
        if spec is None:
            raise Http404(f"operation: no {operation!r}")
        if not self.has_operate_permission(request):
            raise PermissionDenied
        label, done, call = spec
        failures_url = reverse("admin:jobs_job_failures")
        group = failure_group(key=key)
        if group is None:
            self.message_user(request, "That group has no failed jobs any more.", messages.WARNING)
            return HttpResponseRedirect(failures_url)
        if request.method == "POST":
            # The group as it is now: jobs retried or removed meanwhile are not in it.
            run_for_each(self, request, group.job_ids, call, done=f"{done} job(s)")
            return HttpResponseRedirect(failures_url)
        return TemplateResponse(
            request,
            "admin/jobs/job/confirm_failure_group.html",
            self._page(
                request,
                f"{label} {group.count} failed job(s) of this group?",
                group=group,
                label=label,
                operation=operation,
                failures_url=failures_url,
            ),
        )

    @admin.display(description="id", ordering="id")
    def short_id(self, job: Job) -> str:
        return str(job.id)[:8]

    @admin.display(description="task", ordering="task")
    def task_name(self, job: Job) -> str:
        return _breakable(job.task)

    @admin.display(description="queue", ordering="queue")
    def queue_name(self, job: Job) -> str:
        return _breakable(job.queue)

    @admin.display(description="created", ordering="id")
    def created(self, job: Job) -> str:
        return _seconds(job.created_at)

    @admin.display(description="scheduled for", ordering="scheduled_for")
    def scheduled(self, job: Job) -> str:
        return _seconds(job.scheduled_for)

    @admin.display(description="started", ordering="started_at")
    def started(self, job: Job) -> str:
        return _seconds(job.started_at)

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, job: Job) -> str:
        return _seconds(job.finished_at)

    # The job page's times, to the millisecond (Django's default format stops at minutes).
    @admin.display(description="created at")
    def created_at_s(self, job: Job) -> str:
        return _precise(job.created_at)

    @admin.display(description="scheduled for")
    def scheduled_for_s(self, job: Job) -> str:
        return _precise(job.scheduled_for)

    @admin.display(description="published at")
    def published_at_s(self, job: Job) -> str:
        return _precise(job.published_at)

    @admin.display(description="started at")
    def started_at_s(self, job: Job) -> str:
        return _precise(job.started_at)

    @admin.display(description="finished at")
    def finished_at_s(self, job: Job) -> str:
        return _precise(job.finished_at)

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

    @confirmed(
        description="Retry selected finished jobs",
        question="Retry these jobs?",
        permissions=["operate"],
    )
    def retry_jobs(self, request, queryset):
        self._each(request, queryset, "Retried", lambda i: operations.job_retry(job_id=i))

    @confirmed(
        description="Cancel selected delayed/waiting jobs",
        question="Cancel these jobs?",
        permissions=["operate"],
    )
    def cancel_jobs(self, request, queryset):
        self._each(request, queryset, "Cancelled", lambda i: operations.job_cancel(job_id=i))

    @confirmed(
        description="Run selected delayed jobs now",
        question="Make these delayed jobs due now?",
        permissions=["operate"],
    )
    def run_jobs_now(self, request, queryset):
        self._each(request, queryset, "Made due", lambda i: operations.job_run_now(job_id=i))

    @confirmed(
        description="Remove selected jobs (not active ones)",
        question="Remove these jobs from the ledger?",
        permissions=["operate"],
    )
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

    def has_delete_permission(self, request, obj=None) -> bool:
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

    def has_delete_permission(self, request, obj=None) -> bool:
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

    def has_delete_permission(self, request, obj=None) -> bool:
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


class PeriodicTaskForm(BeatPeriodicTaskForm):
    """django-celery-beat's form shows "Task (registered)" empty for every saved schedule:
    it never sets the menu from the row's ``task``. A schedule declared in code (or saved
    from the menu) names a registered task, so the menu starts on it; a task no worker
    registers stays in "Task (custom)" only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        task = getattr(self.instance, "task", "")
        if task and "regtask" not in self.initial:
            registered = {name for name, _ in self.fields["regtask"].widget.choices}
            if task in registered:
                self.initial["regtask"] = task


# django-celery-beat's PeriodicTask admin, plus the next fire times computed the way the
# scheduler computes them (jobs.cron: the schedule's timezone, the DST policy, the seconds),
# the task in the list, and "Run selected tasks" behind a confirmation page.
class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    form = PeriodicTaskForm
    inlines = (*getattr(BeatPeriodicTaskAdmin, "inlines", ()), ScheduleOptionsInline)
    list_display = ("name", "task", "enabled", "scheduler", "interval", "last_run_at", "one_off")
    readonly_fields = (*BeatPeriodicTaskAdmin.readonly_fields, "upcoming_runs")
    fieldsets = (
        *BeatPeriodicTaskAdmin.fieldsets[:2],
        ("Upcoming runs", {"fields": ("upcoming_runs",), "classes": ("extrapretty", "wide")}),
        *BeatPeriodicTaskAdmin.fieldsets[2:],
    )

    @confirmed(
        description="Run selected tasks",
        question="Run these periodic tasks now (outside their schedule)?",
        permissions=["change"],
    )
    def run_tasks(self, request, queryset):
        return BeatPeriodicTaskAdmin.run_tasks(self, request, queryset)

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
