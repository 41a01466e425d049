"""Job administration endpoints. Thin: validate, call a service or
a selector, render. Staff only; throttled."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.errors import ConflictError, InvalidInput
from jobs.ledger import enqueue, operations, queues, selectors, workflows
from jobs.ledger.models import Job, JobStatus, QueueState
from jobs.ledger.retention import job_clean
from jobs.observability import metrics
from jobs.observability.health import system_health, workers_health
from jobs.runtime import registry
from jobs.runtime.registry import ledger_task
from jobs.scheduling.cron import cron_preview
from jobs.scheduling.operations import (
    ScheduleNotFound,
    schedule_get_status,
    schedule_run_now,
    schedule_set_enabled,
    scheduler_summary,
)
from jobs.web.api import serializers as s
from jobs.web.api.permissions import JOBS_API_PERMISSIONS, JOBS_API_THROTTLES
from jobs.web.api.schema import ErrorResponsesAutoSchema
from jobs.web.validation import validated

TAG = "jobs"
NOT_FOUND = OpenApiResponse(s.DetailSerializer, description="No such job, queue or schedule.")
CONFLICT = OpenApiResponse(s.DetailSerializer, description="Not possible in the job's state.")
# Validation errors name each bad field ({"queue": ["unknown queue 'x'"]}), not `detail`.
BAD_INPUT = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input; names the field.")
QUEUE_PARAM = OpenApiParameter("queue", OpenApiTypes.STR, OpenApiParameter.PATH)
JOB_PARAM = OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
NAME_PARAM = OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH)


def conflict(message: str) -> ConflictError:
    return ConflictError(message)


class JobsAdminView(APIView):
    """Errors (ApplicationError, request-size refusals) are rendered by the project's one
    exception handler, ``jobs.web.errors.api_exception_handler``."""

    permission_classes = JOBS_API_PERMISSIONS
    throttle_classes = JOBS_API_THROTTLES
    schema = ErrorResponsesAutoSchema()


def known_queue(queue: str) -> str:
    if queue not in queues.known_queues():
        raise NotFound(f"queue: unknown queue {queue!r}")
    return queue


def get_job(job_id, queue: str | None = None) -> Job:
    job = selectors.job_get(job_id=job_id, queue=queue)
    if job is None:
        raise NotFound(f"job_id: no job {job_id}" + (f" on queue {queue!r}" if queue else ""))
    return job


def job_data(job: Job, detail: bool = False) -> dict:
    return (s.JobDetailSerializer if detail else s.JobSerializer)(job).data


# --- jobs --------------------------------------------------------------------------------------
class JobCollectionView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="List jobs (newest first)",
        parameters=[s.JobListQuerySerializer],
        responses={200: s.JobSerializer(many=True), 400: BAD_INPUT},
    )
    def get(self, request):
        params = validated(s.JobListQuerySerializer, request.query_params)
        jobs = selectors.job_list(
            status=params.get("status"),
            queue=params.get("queue"),
            task=params.get("task"),
            limit=params["limit"],
            offset=params["offset"],
        )
        return Response(s.JobSerializer(jobs, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="Enqueue a registered task",
        request=s.EnqueueSerializer,
        responses={
            201: OpenApiResponse(s.JobSerializer, description="Created."),
            200: OpenApiResponse(s.JobSerializer, description="A live job holds job_key."),
            400: BAD_INPUT,
        },
    )
    def post(self, request):
        spec = validated(s.EnqueueSerializer, request.data)["spec"]
        job, created = enqueue.job_enqueue(spec, defaults=ledger_task(spec.task))
        return Response(
            job_data(job),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers={"Location": reverse("jobs-api:job-detail", args=[job.id])},
        )


class JobBulkEnqueueView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Enqueue many jobs at once: all or none",
        request=s.BulkEnqueueSerializer,
        responses={201: s.BulkEnqueueResultSerializer, 400: BAD_INPUT},
    )
    def post(self, request):
        specs = [item["spec"] for item in validated(s.BulkEnqueueSerializer, request.data)["jobs"]]
        with transaction.atomic():
            jobs = registry.enqueue_many(specs)
        return Response(
            {"count": len(jobs), "jobs": s.JobSerializer(jobs, many=True).data},
            status=status.HTTP_201_CREATED,
        )


class JobDetailView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="One job, with its traceback",
        parameters=[JOB_PARAM],
        responses={200: s.JobDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, job_id, queue: str | None = None):
        return Response(job_data(get_job(job_id, queue), detail=True))

    @extend_schema(
        tags=[TAG],
        summary="Remove a job that is not running",
        parameters=[JOB_PARAM],
        responses={204: None, 404: NOT_FOUND, 409: CONFLICT},
    )
    def delete(self, request, job_id, queue: str | None = None):
        get_job(job_id, queue)
        removed = operations.job_remove(job_id=str(job_id))
        if not removed:
            raise NotFound(f"job_id: no job {job_id}")
        return Response(status=status.HTTP_204_NO_CONTENT)


class QueueJobDetailView(JobDetailView):
    """/api/jobs/{queue}/{job_id} and /api/jobs/queues/{queue}/jobs/{job_id}."""

    @extend_schema(
        tags=[TAG],
        operation_id="jobs_queue_job_retrieve",
        summary="One job of a queue",
        parameters=[QUEUE_PARAM, JOB_PARAM],
        responses={200: s.JobDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, job_id, queue: str | None = None):
        return super().get(request, job_id, queue)

    @extend_schema(
        tags=[TAG],
        operation_id="jobs_queue_job_destroy",
        summary="Remove a job of a queue",
        parameters=[QUEUE_PARAM, JOB_PARAM],
        responses={204: None, 404: NOT_FOUND, 409: CONFLICT},
    )
    def delete(self, request, job_id, queue: str | None = None):
        return super().delete(request, job_id, queue)


class QueueJobShortView(JobsAdminView):
    """GET /api/jobs/{queue}/{job_id}."""

    @extend_schema(
        tags=[TAG],
        operation_id="jobs_queue_job_retrieve_short",
        summary="One job of a queue (short path)",
        parameters=[QUEUE_PARAM, JOB_PARAM],
        responses={200: s.JobDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, job_id, queue: str):
        return Response(job_data(get_job(job_id, queue), detail=True))


class JobRetryView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Run a finished (failed, cancelled, completed) job again",
        parameters=[JOB_PARAM],
        request=s.RetrySerializer,
        responses={200: s.JobSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, job_id, queue: str | None = None):
        options = validated(s.RetrySerializer, request.data)
        get_job(job_id, queue)
        try:
            job = operations.job_retry(job_id=str(job_id), reset_attempts=options["reset_attempts"])
        except Job.DoesNotExist:
            raise NotFound(f"job_id: no job {job_id}") from None
        return Response(job_data(job))


class QueueJobRetryView(JobRetryView):
    @extend_schema(
        tags=[TAG],
        operation_id="jobs_queue_job_retry",
        summary="Retry a job of a queue",
        parameters=[QUEUE_PARAM, JOB_PARAM],
        request=s.RetrySerializer,
        responses={200: s.JobSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, job_id, queue: str | None = None):
        return super().post(request, job_id, queue)


class QueueJobRetryShortView(JobRetryView):
    @extend_schema(
        tags=[TAG],
        operation_id="jobs_queue_job_retry_short",
        summary="Retry a job of a queue (short path)",
        parameters=[QUEUE_PARAM, JOB_PARAM],
        request=s.RetrySerializer,
        responses={200: s.JobSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, job_id, queue: str | None = None):
        return super().post(request, job_id, queue)


class JobCancelView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Cancel a job that has not started (durable)",
        parameters=[JOB_PARAM],
        request=None,
        responses={200: s.JobSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, job_id):
        job = get_job(job_id)
        if not operations.job_cancel(job_id=str(job_id)):
            job.refresh_from_db()
            raise conflict(
                f"job {job_id} is {job.status}; only delayed or waiting jobs can be cancelled"
            )
        return Response(job_data(get_job(job_id)))


WORKFLOW_PARAM = OpenApiParameter(
    "workflow_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="The workflow's id, or the id of any of its steps (a chain's result id).",
)


def get_workflow(workflow_id) -> dict:
    workflow = workflows.workflow_detail(str(workflow_id))
    if workflow is None:
        raise NotFound(f"workflow_id: no workflow {workflow_id}")
    return workflow


class WorkflowDetailView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="A workflow (chain, group, chord, link): its steps, their status and timing",
        parameters=[WORKFLOW_PARAM],
        responses={200: s.WorkflowSerializer, 404: NOT_FOUND},
    )
    def get(self, request, workflow_id):
        return Response(s.WorkflowSerializer(get_workflow(workflow_id)).data)


class WorkflowCancelView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Cancel a workflow: no further step starts (durable)",
        parameters=[WORKFLOW_PARAM],
        request=None,
        responses={200: s.WorkflowSerializer, 404: NOT_FOUND},
    )
    def post(self, request, workflow_id):
        workflow = get_workflow(workflow_id)
        workflows.workflow_cancel(workflow_id=str(workflow["id"]))
        return Response(s.WorkflowSerializer(get_workflow(workflow["id"])).data)


class JobRunNowView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Make a delayed job due now",
        parameters=[JOB_PARAM],
        request=None,
        responses={200: s.JobSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, job_id):
        job = get_job(job_id)
        if not operations.job_run_now(job_id=str(job_id)):
            raise conflict(f"job {job_id} is {job.status}; only delayed jobs can be run now")
        return Response(job_data(get_job(job_id)))


# --- lists ---------------------------------------------------------------------------------
class FailedJobsView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Failed jobs across all queues, newest first",
        parameters=[s.LimitQuerySerializer],
        responses={200: s.JobSerializer(many=True), 400: BAD_INPUT},
    )
    def get(self, request):
        page = validated(s.LimitQuerySerializer, request.query_params)
        jobs = selectors.job_list(status=JobStatus.FAILED, **page)
        return Response(s.JobSerializer(jobs, many=True).data)


class ActiveJobsView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Running jobs across all queues, newest first",
        parameters=[s.LimitQuerySerializer],
        responses={200: s.JobSerializer(many=True), 400: BAD_INPUT},
    )
    def get(self, request):
        page = validated(s.LimitQuerySerializer, request.query_params)
        jobs = selectors.job_list(status=JobStatus.ACTIVE, **page)
        return Response(s.JobSerializer(jobs, many=True).data)


class FailedClearView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Remove failed jobs, optionally of one queue / older than grace ms",
        request=s.FailedClearSerializer,
        responses={200: s.CountSerializer, 400: BAD_INPUT},
    )
    def post(self, request):
        params = validated(s.FailedClearSerializer, request.data)
        removed = job_clean(
            queue=params.get("queue"), grace_ms=params["grace"], status=JobStatus.FAILED
        )
        return Response({"removed": removed})


class FailedRetryView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Retry failed jobs in bulk (oldest first; by queue or ids)",
        request=s.FailedRetrySerializer,
        responses={200: s.BulkRetryResultSerializer, 400: BAD_INPUT},
    )
    def post(self, request):
        params = validated(s.FailedRetrySerializer, request.data)
        jobs = Job.objects.filter(status=JobStatus.FAILED)
        if params.get("queue"):
            jobs = jobs.filter(queue=params["queue"])
        if params.get("job_ids"):
            jobs = jobs.filter(id__in=params["job_ids"])
        ids = list(jobs.order_by("created_at").values_list("id", flat=True)[: params["limit"]])
        retried, skipped = [], []
        for job_id in ids:
            try:
                operations.job_retry(job_id=str(job_id))
                retried.append(job_id)
            except (operations.JobError, Job.DoesNotExist) as exc:
                skipped.append({"id": str(job_id), "reason": str(exc)})
        return Response({"retried": retried, "skipped": skipped})


# --- metrics and health ------------------------------------------------------------------
class HealthView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Health of queues, scheduled jobs and workers, with open alerts",
        responses={200: s.HealthSerializer},
    )
    def get(self, request):
        return Response(system_health())


class MetricsView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Per-queue metrics and the activity summary across queues",
        responses={200: s.ActivitySummarySerializer},
    )
    def get(self, request):
        return Response(metrics.activity_summary())


class StatusView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Queue health and statistics",
        responses={200: s.QueueStatusSerializer},
    )
    def get(self, request):
        overview = metrics.queue_status_overview()
        live = workers_health(timezone.now())["active"]
        return Response(
            {"healthy": bool(live) and not overview["paused"], "workers": live, **overview}
        )


class QueueListView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Metrics of every queue",
        responses={200: s.QueueMetricsSerializer(many=True)},
    )
    def get(self, request):
        return Response(metrics.queue_metrics_list())


class QueueDetailView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Metrics and controls of one queue",
        parameters=[QUEUE_PARAM],
        responses={200: s.QueueDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, queue):
        known_queue(queue)
        state = QueueState.objects.filter(name=queue).first()
        rate_limit = None
        if state is not None and state.rate_limit_max:
            rate_limit = {"max": state.rate_limit_max, "duration": state.rate_limit_duration_ms}
        return Response({**metrics.queue_metrics(queue), "rateLimit": rate_limit})


class QueueJobsView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Jobs of one queue, optionally of one status (newest first)",
        parameters=[QUEUE_PARAM, s.QueueJobsQuerySerializer],
        responses={200: s.JobSerializer(many=True), 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def get(self, request, queue):
        known_queue(queue)
        params = validated(s.QueueJobsQuerySerializer, request.query_params)
        jobs = selectors.job_list(
            status=params.get("status"), queue=queue, limit=params["limit"], offset=params["offset"]
        )
        return Response(s.JobSerializer(jobs, many=True).data)


# --- queue controls ------------------------------------------------------------------------
def _pause(queue: str) -> Response:
    state = queues.queue_pause(queue=queue)
    return Response({"queue": state.name, "paused": True})


def _resume(queue: str) -> Response:
    republishing = queues.queue_resume(queue=queue)
    return Response({"queue": queue, "paused": False, "republishing": republishing})


class QueuePauseView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Pause a queue (durable; its jobs stay waiting)",
        parameters=[QUEUE_PARAM],
        request=None,
        responses={200: s.QueueStateSerializer, 404: NOT_FOUND},
    )
    def post(self, request, queue):
        return _pause(known_queue(queue))


class QueueResumeView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Resume a queue",
        parameters=[QUEUE_PARAM],
        request=None,
        responses={200: s.QueueStateSerializer, 404: NOT_FOUND},
    )
    def post(self, request, queue):
        return _resume(known_queue(queue))


class PauseAllView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Pause all queues",
        request=None,
        responses={200: s.QueueStateSerializer},
    )
    def post(self, request):
        return _pause(QueueState.ALL)


class ResumeAllView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Resume all queues",
        request=None,
        responses={200: s.QueueStateSerializer},
    )
    def post(self, request):
        return _resume(QueueState.ALL)


class QueueCleanView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Remove a queue's jobs of one status older than grace ms",
        parameters=[QUEUE_PARAM],
        request=s.CleanSerializer,
        responses={200: s.CountSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    def post(self, request, queue):
        known_queue(queue)
        params = validated(s.CleanSerializer, request.data)
        try:
            removed = job_clean(
                queue=queue,
                grace_ms=params["grace"],
                status=params["status"],
                limit=params.get("limit"),
            )
        except InvalidInput as exc:
            raise ValidationError(s.field_errors(exc)) from None
        return Response({"removed": removed})


# --- scheduler -------------------------------------------------------------------------------
class SchedulerView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Every schedule with its next run and missed slot",
        responses={200: s.SchedulerSummarySerializer},
    )
    def get(self, request):
        return Response(scheduler_summary())


class ScheduleDetailView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        operation_id="jobs_scheduler_status",
        summary="One schedule's status (exists, enabled, next_run, last_run) and next runs",
        parameters=[NAME_PARAM],
        responses={200: s.ScheduleStatusSerializer, 404: NOT_FOUND},
    )
    def get(self, request, name):
        try:
            return Response(schedule_get_status(name=name))
        except ScheduleNotFound:
            raise NotFound(f"name: no schedule {name!r}") from None


class ScheduleToggleView(JobsAdminView):
    enabled: bool = True

    def post(self, request, name):
        try:
            return Response(schedule_set_enabled(name=name, enabled=self.enabled))
        except ScheduleNotFound:
            raise NotFound(f"name: no schedule {name!r}") from None


class ScheduleStartView(ScheduleToggleView):
    enabled = True

    @extend_schema(
        tags=[TAG],
        operation_id="jobs_scheduler_start",
        summary="Start (enable) a schedule; beat picks the change up without a restart",
        parameters=[NAME_PARAM],
        request=None,
        responses={200: s.ScheduleSerializer, 404: NOT_FOUND},
    )
    def post(self, request, name):
        return super().post(request, name)


class ScheduleStopView(ScheduleToggleView):
    enabled = False

    @extend_schema(
        tags=[TAG],
        operation_id="jobs_scheduler_stop",
        summary="Stop (disable) a schedule",
        parameters=[NAME_PARAM],
        request=None,
        responses={200: s.ScheduleSerializer, 404: NOT_FOUND},
    )
    def post(self, request, name):
        return super().post(request, name)


class ScheduleRunView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Enqueue a schedule's task once, now",
        parameters=[NAME_PARAM],
        request=None,
        responses={202: s.ScheduleRunSerializer, 404: NOT_FOUND},
    )
    def post(self, request, name):
        try:
            result = schedule_run_now(name=name)
        except ScheduleNotFound:
            raise NotFound(f"name: no schedule {name!r}") from None
        return Response({"name": name, "job_id": str(result.id)}, status=status.HTTP_202_ACCEPTED)


class CronPreviewView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Validate a cron expression and show its next fire times",
        parameters=[s.CronPreviewQuerySerializer],
        responses={200: s.CronPreviewSerializer, 400: BAD_INPUT},
    )
    def get(self, request):
        params = validated(s.CronPreviewQuerySerializer, request.query_params)
        try:
            return Response(cron_preview(cron=params["cron"], tz=params["tz"], n=params["n"]))
        except InvalidInput as exc:
            raise ValidationError(s.field_errors(exc)) from None


class IntervalPreviewView(JobsAdminView):
    @extend_schema(
        tags=[TAG],
        summary="Show the next fire times of an `every` (interval) schedule",
        parameters=[s.IntervalPreviewQuerySerializer],
        responses={200: s.CronPreviewSerializer, 400: BAD_INPUT},
    )
    def get(self, request):
        params = validated(s.IntervalPreviewQuerySerializer, request.query_params)
        return Response(cron_preview(every=params["every"], n=params["n"]))
