"""The task API: ordinary Celery tasks whose every run is recorded in the ledger.

@job_task(queue="default", priority="HIGH", max_attempts=5,
          autoretry_for=(SMTPException,), backoff=exponential(1))
def send_welcome(user_id): ...

send_welcome.delay(42)                                  # row + message after commit
send_welcome.apply_async((42,), countdown=3600, job_key="welcome-42")
send_welcome.apply_async((42,), backoff={"type": "fixed", "delay": 5000}, timeout=30,
                         remove_on_complete=True, job_key="welcome-42", unique_for=3600)
"""

import json
import logging
import socket
import traceback as tb
import warnings
from datetime import datetime
from typing import Any

from billiard.exceptions import Terminated, WorkerLostError
from celery import Task, shared_task
from celery.app.task import Context
from celery.exceptions import Ignore, Reject, TimeLimitExceeded
from celery.utils.functional import head_from_fun
from celery.worker import state as worker_state
from celery.worker.request import Request
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from jobs.conf import jobs_settings
from jobs.errors import InvalidArguments, InvalidInput, PermanentError
from jobs.ledger import attempts, broker, enqueue
from jobs.ledger import backoff as backoff_policies
from jobs.ledger import workflows as ledger_workflows
from jobs.ledger.enqueue import JobSpec, job_enqueue
from jobs.ledger.models import Job, JobStatus
from jobs.ledger.priorities import Priority
from jobs.ledger.transition_log import log_transition, ms_between, transitions_logged
from jobs.ledger.workers import process_name, worker_name
from jobs.runtime import rate_limits, workflows
from jobs.runtime.result import LedgerResult

log = logging.getLogger(__name__)


# Celery options that make no difference on a ledger task, with the reason the warning gives.
NOT_HONOURED = {
    "expires": "the job waits in the ledger until it runs or is cancelled",
    "exchange": "the ledger publishes to the task's queue directly",
    "routing_key": "the ledger publishes to the task's queue directly",
}


class LedgerOptionWarning(UserWarning):
    """A ledger task declares a Celery option the ledger cannot honour."""


def warn_unhonoured(task: str, option: str, reason: str, *, declared_by: str) -> None:
    """Said once, when the task is declared (a worker's start-up)."""
    warnings.warn(
        f"task {task!r} is a ledger task ({declared_by}), which cannot honour its "
        f"{option} option: {reason}. Drop the option, or declare the task ledger=False.",
        LedgerOptionWarning,
        stacklevel=3,
    )


class RetryRequested(Exception):
    """Raised by ``LedgerTask.retry``: the ledger schedules the next attempt."""

    def __init__(
        self,
        countdown: float | None,
        exc: BaseException | None,
        max_retries: int | None = None,
    ):
        super().__init__(str(exc) if exc else "retry requested")
        self.countdown = countdown
        self.exc = exc
        self.max_retries = max_retries


class LedgerRequest(Request):
    """Runs in the worker's main process: notices when a pool process dies under a job."""

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        exc = getattr(exc_info.exception, "exc", exc_info.exception)
        stopped = isinstance(exc, Terminated | WorkerLostError | SystemExit | KeyboardInterrupt)
        revoked = self.id in worker_state.revoked  # revoke() adds it before terminating
        interrupted = self._already_cancelled or (isinstance(exc, Terminated) and not revoked)
        if stopped and interrupted and self.worker_pid and getattr(self.task, "ledger", False):
            # Celery itself ended the run: it cancels running acks_late tasks when the
            # broker connection drops (worker_cancel_long_running_tasks_on_connection_loss),
            # sometimes before it marks the request cancelled. Neither a revoke nor a
            # crash: the job runs again, the attempt not counted.
            try:
                attempts.job_requeue_uncounted(
                    job_id=self.id,
                    worker=worker_name(socket.gethostname(), self.worker_pid),
                    reason="cancelled by Celery: the broker connection was lost",
                )
            except Exception:
                log.exception("could not requeue job %s after Celery cancelled it", self.id)
            return super().on_failure(exc_info, send_failed_event, return_ok)
        if isinstance(exc, Terminated) and getattr(self.task, "ledger", False) and self.worker_pid:
            # revoke(terminate=True): the operator stopped it; not a crash to recover from.
            try:
                if attempts.job_terminated(
                    job_id=self.id, worker=worker_name(socket.gethostname(), self.worker_pid)
                ):
                    workflows.step_ended_abnormally(job_id=self.id)
            except Exception:
                log.exception("could not record job %s as cancelled after termination", self.id)
            return super().on_failure(exc_info, send_failed_event, return_ok)
        lost = isinstance(exc, WorkerLostError | SystemExit | KeyboardInterrupt)
        if lost and getattr(self.task, "ledger", False) and self.worker_pid:
            try:
                ended = attempts.job_worker_lost(
                    job_id=self.id,
                    worker=worker_name(socket.gethostname(), self.worker_pid),
                    reason=type(exc).__name__,
                    poison_threshold=jobs_settings().poison_threshold,
                )
                if ended == JobStatus.FAILED:
                    workflows.step_ended_abnormally(job_id=self.id, request=self._context)
            except Exception:
                log.exception("could not requeue job %s after its worker was lost", self.id)
        return super().on_failure(exc_info, send_failed_event, return_ok)


class LedgerTask(Task):
    """Base class of every ``@job_task``. Plain Celery when ``ledger = False``."""

    Request = LedgerRequest
    # Records a foreign message with a future eta when it arrives (jobs/runtime/strategy.py).
    Strategy = "jobs.runtime.strategy:ledger_strategy"
    ledger: bool = True
    max_attempts: int = 1
    retry_for: tuple[type[BaseException], ...] = ()
    dont_retry_for: tuple[type[BaseException], ...] = ()
    backoff: backoff_policies.Backoff = backoff_policies.exponential()
    job_priority: int = int(Priority.NORMAL)
    job_queue: str = "default"
    atomic: bool = False

    # --- enqueue side ---------------------------------------------------------------------
    def apply_async(
        self,
        args=None,
        kwargs=None,
        task_id=None,
        producer=None,
        link=None,
        link_error=None,
        shadow=None,
        **options,
    ):
        if not self.ledger:
            return super().apply_async(
                args,
                kwargs,
                task_id=task_id,
                producer=producer,
                link=link,
                link_error=link_error,
                shadow=shadow,
                **options,
            )
        canvas: dict = {}
        steps: list = []
        position = 0
        if workflows.is_canvas_call(options, link, link_error):
            # A step of Celery's canvas (chain, group, chord, link): recorded with what it
            # sets off, in this transaction (jobs/runtime/workflows.py).
            canvas, steps, position = workflows.canvas_spec_fields(
                task_name=self.name,
                task_id=task_id,
                options=options,
                link=link,
                link_error=link_error,
            )
        if canvas:
            # The step and its workflow's record commit together (or with the caller's
            # transaction), never one without the other.
            with transaction.atomic():
                job, created = self._enqueue(args, kwargs, options, canvas)
                if created:
                    ledger_workflows.workflow_record(
                        workflow_id=canvas["workflow_id"], steps=steps, position=position
                    )
        else:
            job, created = self._enqueue(args, kwargs, options, canvas)
        return LedgerResult(str(job.id), job=job, created=created, app=self.app)

    def _enqueue(self, args, kwargs, options: dict, canvas: dict) -> tuple[Job, bool]:
        eta = options.get("eta")
        if isinstance(eta, str):
            eta = datetime.fromisoformat(eta)
        return job_enqueue(
            JobSpec(
                task=self.name,
                args=args or (),
                kwargs=kwargs or {},
                queue=options.get("queue"),
                priority=options.get("priority"),
                countdown=options.get("countdown"),
                eta=eta,
                job_key=options.get("job_key"),
                max_attempts=options.get("max_attempts"),
                backoff=options.get("backoff"),
                # Celery's own per-call time_limit means the same as BullMQ's timeout.
                timeout=options.get("timeout", options.get("time_limit")),
                remove_on_complete=options.get("remove_on_complete"),
                remove_on_fail=options.get("remove_on_fail"),
                unique_for=options.get("unique_for"),
                **canvas,
            ),
            defaults=self,
        )

    def retry(
        self,
        args=None,
        kwargs=None,
        exc=None,
        throw=True,
        eta=None,
        countdown=None,
        max_retries=None,
        **options,
    ):
        if not self.ledger:
            return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)
        if eta is not None and countdown is None:
            countdown = max(0.0, (eta - timezone.now()).total_seconds())
        raise RetryRequested(countdown, exc, max_retries)

    # --- worker side ----------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if not self.ledger or self.request.called_directly:
            return super().__call__(*args, **kwargs)
        job_id = self.request.id
        try:
            wait = rate_limits.acquire(
                task=self.name, queue=self._queue_of_request(), job_id=job_id
            )
            if wait:
                if not attempts.job_defer(job_id=job_id, until=wait) and self._adopt():
                    attempts.job_defer(job_id=job_id, until=wait)
                raise Ignore()
            claim = attempts.job_claim(job_id=job_id, worker=process_name())
            if claim is None and self._adopt():
                claim = attempts.job_claim(job_id=job_id, worker=process_name())
        except (OperationalError, InterfaceError) as exc:
            # The database stayed unreachable for JOBS_DATABASE_OUTAGE_WAIT: the message
            # goes back to the broker (acks_late), neither lost nor counted as an attempt.
            raise Reject(f"database unreachable: {exc}", requeue=True) from exc
        if claim is None:
            # Redelivered, cancelled, finished, held by a live attempt, or paused: not ours.
            attempts.job_put_back_if_paused(job_id=job_id)
            raise Ignore()
        return self.run_claimed(claim, args, kwargs)

    def run_claimed(self, claim: attempts.Claim, args, kwargs):
        """Run a claimed job's attempt and record how it ended: completed, a retry scheduled
        with its backoff (raises ``Ignore``), or failed (the error is raised again). The
        one path from a claim to an outcome, for a worker and for ``jobs.testing``."""
        self.request.ledger_claim = claim
        self.request.retries = claim.attempts - 1  # what a Celery task body reads
        self._log(claim, "started")
        try:
            if self.atomic:
                return self._run_atomically(claim, args, kwargs)
            result = Task.__call__(self, *args, **kwargs)
        except Exception as exc:
            self._after_error(claim, exc)
            raise
        try:
            completed = _complete(claim, _jsonable(result))
        except Exception as exc:
            if claim.continuation is None:
                raise
            # The step ran but what it sets off could not be created (the next signature's
            # arguments do not fit its task, say): its completion rolled back, so the step
            # is retried or fails by its own policy, as an atomic step's would.
            self._after_error(claim, exc)
            raise
        if completed:
            self._log(claim, "completed", ended=True)
        else:
            attempts.job_claim_lost(claim=claim)
        return result

    def _log(self, claim: attempts.Claim, transition: str, *, ended: bool = False) -> None:
        if not transitions_logged():
            return  # the durations below are work only the log line needs
        log_transition(
            transition,
            job_id=claim.job_id,
            task=self.name,
            queue=claim.queue,
            attempt=claim.attempts,
            wait_ms=ms_between(claim.scheduled_for, claim.started_at),
            run_ms=ms_between(claim.started_at, timezone.now()) if ended else None,
        )

    def run_in_process(self, job: Job) -> str:
        """Run one ledger job in this process, with no broker and no worker: the request a
        worker would give the task, the same claim, then ``run_claimed``. Returns what
        became of it: "completed", "retried", "failed", "requeued" (the database connection
        was lost), or "skipped" (not claimable: not waiting, or its queue is paused)."""
        self.push_request(
            id=str(job.id),
            args=list(job.args),
            kwargs=dict(job.kwargs),
            called_directly=False,
            is_eager=False,
            delivery_info={"exchange": "", "routing_key": job.queue, "priority": job.priority},
            hostname=process_name(),
        )
        try:
            claim = attempts.job_claim(job_id=str(job.id), worker=process_name())
            if claim is None:
                return "skipped"
            try:
                self.run_claimed(claim, list(job.args), dict(job.kwargs))
            except Ignore:
                ended = Job.objects.filter(id=job.id).values_list("status", flat=True).first()
                return "retried" if ended == JobStatus.DELAYED else "requeued"
            except Exception:
                return "failed"
            return "completed"
        finally:
            self.pop_request()

    def job_arguments(self, args, kwargs) -> tuple[list, dict]:
        """The arguments a job of this task is stored with; ``job_build`` calls this at
        every enqueue (``delay``/``apply_async``, ``enqueue_many``, the REST API).

        Checked against the task's signature as Celery's ``apply_async`` does (its
        ``typing`` option, on by default; ``typing=False`` turns the check off): a call that
        could never run is refused with ``InvalidArguments`` instead of failing in a
        worker. A ``pydantic=True`` task's models are dumped to JSON here, as Celery dumps
        them; Celery's wrapper validates them back into models when the job runs."""
        args = list(args or ())
        kwargs = dict(kwargs or {})
        check = self._signature_check() if self.typing else None
        if check is not None:
            try:
                check(*args, **kwargs)
            except TypeError as exc:
                raise InvalidArguments(
                    f"the arguments do not fit task {self.name!r}: {exc}"
                ) from None
        if self._dump_pydantic_arguments is not None:
            args, kwargs = self._dump_pydantic_arguments(args, kwargs)
        return list(args), dict(kwargs)

    def _signature_check(self):
        """Celery's checker: a function with the task's signature and an empty body. Celery
        builds a ``pydantic=True`` task's from its wrapper, ``(*args, **kwargs)``, which
        takes anything; the ledger checks against the function the wrapper wraps."""
        check = getattr(self, "__header__", None)
        decorated = getattr(self, "_decorated_fun", None)
        if self._dump_pydantic_arguments is None or decorated is None:
            return check
        cls = type(self)
        check = cls.__dict__.get("_ledger_header")
        if check is None:
            # Celery makes ``run`` a staticmethod exactly when the task is not bound.
            bound = not isinstance(cls.__dict__.get("run"), staticmethod)
            check = head_from_fun(decorated, bound=bound)
            cls._ledger_header = check  # read back through __dict__: never bound to self
        return check

    def _run_atomically(self, claim: attempts.Claim, args, kwargs):
        """The task's database writes and the job's completion commit together, or neither
        does: a crash in between undoes the effect, and an attempt that lost its claim (the
        reaper requeued it) rolls its effect back. Exactly once for database effects."""
        with transaction.atomic():
            result = Task.__call__(self, *args, **kwargs)
            completed = _complete(claim, _jsonable(result))
            if not completed:
                transaction.set_rollback(True)
                log.warning(
                    "job %s: attempt lost its claim; its effects were rolled back", claim.job_id
                )
            else:
                self._log(claim, "completed", ended=True)
        if not completed:
            attempts.job_claim_lost(claim=claim)  # after the rollback, or it is undone too
        return result

    def _adopt(self) -> bool:
        """A message with no ledger row (``send_task``, ``celery call``, another service's
        producer) is recorded from the message itself, then claimed like any job. Only
        called when the claim found nothing to claim, so the hot path pays nothing."""
        request = self.request
        if (
            getattr(request, broker.LEDGER_HEADER, None)
            or Job.objects.filter(id=request.id).exists()
        ):
            return False  # the ledger sent it (its row was removed), or the row exists
        priority = (request.delivery_info or {}).get("priority")
        spec = JobSpec(
            task=self.name,
            args=list(request.args or ()),
            kwargs=dict(request.kwargs or {}),
            queue=self._queue_of_request(),
            # Celery's priorities run 0-9; a message's value is kept when it is one of ours.
            priority=priority if isinstance(priority, int) and 1 <= priority <= 5 else None,
        )
        try:
            return enqueue.job_adopt(
                spec, job_id=request.id, defaults=self, attempts=request.retries or 0
            )
        except InvalidInput as exc:
            log.error("message %s for %s could not be recorded: %s", request.id, self.name, exc)
            return False

    def _queue_of_request(self) -> str:
        info = self.request.delivery_info or {}
        return info.get("routing_key") or self.job_queue

    def _after_error(self, claim: attempts.Claim, exc: Exception) -> None:
        if attempts.connection_lost(exc):
            # The database went away under the attempt: not the job's failure, so it runs
            # again when the database is back, without spending an attempt.
            attempts.job_requeue_uncounted(
                job_id=claim.job_id,
                worker=claim.worker,
                attempt=claim.attempts,
                reason=f"{type(exc).__name__}: {exc} (database connection lost)",
            )
            raise Ignore() from exc
        requested = exc if isinstance(exc, RetryRequested) else None
        cause: BaseException = requested.exc if requested and requested.exc else exc
        error = f"{type(cause).__name__}: {cause}"
        trace = "".join(tb.format_exception(cause))
        retryable = requested is not None or self.retries_on(exc)
        limit = claim.max_attempts
        if requested is not None and requested.max_retries is not None:
            limit = requested.max_retries + 1  # self.retry(max_retries=n), Celery's meaning
        if retryable and claim.attempts < limit:
            delay = (
                requested.countdown
                if requested is not None and requested.countdown is not None
                else self.backoff_of(claim).seconds(claim.attempts)
            )
            if attempts.job_schedule_retry(claim=claim, delay=delay, error=error, traceback=trace):
                self._log(claim, "retried", ended=True)
            else:
                attempts.job_claim_lost(claim=claim)
            raise Ignore() from exc
        if _fail(claim, error=error, traceback=trace, exc=cause, request=self.request):
            self._log(claim, "failed", ended=True)
        else:
            attempts.job_claim_lost(claim=claim)

    def backoff_of(self, claim: attempts.Claim) -> backoff_policies.Backoff:
        """The job's own backoff when it was enqueued with one, else the task's."""
        if claim.backoff is None:
            return self.backoff
        return backoff_policies.parse(claim.backoff)

    def retries_on(self, exc: BaseException) -> bool:
        """Whether an attempt that raised ``exc`` may be tried again (attempts permitting).

        A ``PermanentError`` or one of ``dont_autoretry_for`` never is. With
        ``autoretry_for`` declared only those exceptions are; without it every exception
        is, as BullMQ's, Oban's and Sidekiq's attempts mean (a task with one attempt, the
        default, is never retried either way)."""
        if isinstance(exc, (PermanentError, *self.dont_retry_for)):
            return False
        if self.retry_for:
            return isinstance(exc, self.retry_for)
        return True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Called in the worker's main process when the hard time limit killed the run."""
        if self.ledger and isinstance(exc, TimeLimitExceeded):
            job = Job.objects.filter(id=task_id, status=JobStatus.ACTIVE).first()
            if job is not None:
                claim = attempts.Claim.of_job(job)
                error = f"TimeLimitExceeded: hard time limit ({exc}) exceeded"
                if self.retries_on(exc) and job.attempts < job.max_attempts:
                    if attempts.job_schedule_retry(
                        claim=claim,
                        delay=self.backoff_of(claim).seconds(job.attempts),
                        error=error,
                        traceback="",
                    ):
                        self._log(claim, "retried", ended=True)
                elif _fail(
                    claim,
                    error=error,
                    traceback="",
                    exc=exc,
                    # Celery gives the errbacks of a run killed by its hard time limit
                    # the request's context; this process has the task's id and arguments.
                    request=self.request
                    if self.request.id == task_id
                    else Context(id=task_id, task=self.name, args=args, kwargs=kwargs),
                ):
                    self._log(claim, "failed", ended=True)
        return super().on_failure(exc, task_id, args, kwargs, einfo)

    def progress(self, percent: int, message: str = "") -> None:
        """Report progress (0-100): stored on the ledger row and in Celery's task state."""
        attempts.job_report_progress(job_id=self.request.id, percent=percent, message=message)
        meta = {"progress": percent, "message": message}
        try:
            # Celery's task state meta (what Flower and AsyncResult.info show), and a live
            # event for the /ws/jobs/ stream. Best effort: the ledger row is the record.
            self.update_state(state="PROGRESS", meta=meta)
            self.send_event("task-progress", **meta)
        except Exception:
            log.debug("progress not published to Celery", exc_info=True)


def _complete(claim: attempts.Claim, result) -> bool:
    # The one check a job in no workflow pays: its claim returned no continuation.
    if claim.continuation is None:
        return attempts.job_complete(claim=claim, result=result)
    return workflows.complete_step(claim, result)


def _fail(
    claim: attempts.Claim,
    *,
    error: str,
    traceback: str,
    exc: BaseException | None = None,
    request=None,
) -> bool:
    if claim.continuation is None:
        return attempts.job_fail(claim=claim, error=error, traceback=traceback)
    return workflows.fail_step(claim, error=error, traceback=traceback, exc=exc, request=request)


def _jsonable(value):
    """Results are small JSON; anything else is stored as its repr."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        json.dumps(value, cls=DjangoJSONEncoder)
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except (TypeError, ValueError):
        return {"repr": repr(value)[:2000]}


def job_task(
    *args,
    queue: str = "default",
    priority: Priority | int | str = Priority.NORMAL,
    max_attempts: int | None = None,
    backoff=None,
    autoretry_for=(),
    dont_autoretry_for=(),
    time_limit=None,
    soft_time_limit=None,
    rate_limit: str | None = None,
    ledger: bool = True,
    **options,
):
    """Declare a task. Celery's options pass through; these are the platform's own:

    queue, priority (CRITICAL..BATCH or 1..5), max_attempts, backoff (exponential(),
    fixed(), custom()), rate_limit ("100/s": global across all workers, unlike Celery's
    per-worker limit), ledger, and atomic=True: the task's database writes commit in one
    transaction with the job's completion (exactly once for database effects; keep slow I/O
    out of such tasks).

    Celery's retry vocabulary means what Celery says, mapped onto ledger attempts:
    autoretry_for (only these exceptions are retried; without it, any exception is while
    attempts remain), dont_autoretry_for, max_retries (attempts = max_retries + 1; None =
    JOBS_MAX_ATTEMPTS_CAP), retry_backoff (True or the base in seconds), retry_backoff_max,
    retry_jitter, default_retry_delay (a fixed delay when there is no backoff).
    """
    if not ledger:
        options.setdefault("autoretry_for", autoretry_for)
        options.setdefault("rate_limit", rate_limit)
        options.setdefault("dont_autoretry_for", dont_autoretry_for)
    attempts_, policy = _retry_policy(max_attempts, backoff, options)
    task_options = dict(
        base=LedgerTask,
        job_queue=queue,
        job_priority=int(Priority.parse(priority)),
        max_attempts=attempts_,
        retry_for=tuple(autoretry_for),
        dont_retry_for=tuple(dont_autoretry_for),
        backoff=policy,
        time_limit=time_limit,
        soft_time_limit=soft_time_limit,
        ledger=ledger,
        ignore_result=ledger,
        **options,
    )
    decorator = shared_task(**task_options)

    def register(fun):
        task = decorator(fun)
        if ledger and rate_limit:
            rate_limits.declare_task_limit(task.name, rate_limit)
        if ledger:
            for option, reason in NOT_HONOURED.items():
                if options.get(option) is not None:
                    warn_unhonoured(task.name, option, reason, declared_by="@job_task")
        return task

    if len(args) == 1 and callable(args[0]):
        return register(args[0])
    return register


_NOT_GIVEN = object()


def _retry_policy(
    max_attempts: int | None, backoff: Any, options: dict
) -> tuple[int, backoff_policies.Backoff]:
    """The ledger's attempts and backoff from the platform's options or Celery's."""
    settings_ = jobs_settings()
    max_retries = options.get("max_retries", _NOT_GIVEN)
    if max_attempts is None:
        if max_retries is _NOT_GIVEN:
            max_attempts = settings_.default_max_attempts
        elif max_retries is None:  # Celery: retry for ever; the ledger: up to the cap
            max_attempts = settings_.max_attempts_cap
        else:
            max_attempts = int(max_retries) + 1  # type: ignore[call-overload]
    if backoff is not None:
        return max_attempts, backoff_policies.parse(backoff)
    retry_backoff = options.get("retry_backoff", False)
    if retry_backoff:
        base = 1.0 if retry_backoff is True else float(retry_backoff)
        return max_attempts, backoff_policies.exponential(
            base,
            max_delay=float(options.get("retry_backoff_max", 600)),
            jitter=bool(options.get("retry_jitter", True)),
        )
    if options.get("default_retry_delay") is not None:
        return max_attempts, backoff_policies.fixed(float(options["default_retry_delay"]))
    if settings_.default_retry_delay is not None:
        return max_attempts, backoff_policies.fixed(settings_.default_retry_delay)
    return max_attempts, backoff_policies.exponential()
