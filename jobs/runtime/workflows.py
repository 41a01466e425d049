"""Celery's canvas on ledger tasks: the enqueue side records it, the worker side applies it.

Celery's own canvas code decomposes a chain, group or chord into ``apply_async`` calls of
its tasks with the options ``chain``, ``link``, ``link_error``, ``chord``, ``group_id``,
``group_index``, ``root_id``, ``parent_id`` and a frozen ``task_id``. A ledger task keeps
them on its job row (``jobs.ledger.workflows``); when the job completes, the transaction
that completes it applies them, as Celery's worker would after the task returns:

- ``link`` signatures get the result prepended to their arguments (not an immutable one,
  ``.si()``), the next step of the chain too;
- the last header job of a chord applies the body with the header's results, in order;
- when the job fails for good, ``link_error`` signatures are applied with the job's id
  (Celery's errback arguments for a signature it applies), except those whose task takes
  ``(request, exc, traceback)``: Celery calls these in the failing worker, and so does
  ``call_errbacks``, after the failure has committed. Every step the job would have set
  off is cancelled saying why; its chord fails, or, when the chord's body has
  ``continue_on_failure``, counts it as ended (its slot an error marker). Retrying the job
  (``job_retry``) undoes that: ``jobs.ledger.workflows.step_resume``.

A signature of a ledger task becomes a ledger job in that transaction (its message goes
after the commit); a plain Celery task's is sent after the commit.
"""

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from celery import current_app
from celery.app.task import Context
from celery.canvas import Signature, signature
from celery.exceptions import ChordError, NotRegistered, WorkerLostError
from celery.utils.functional import arity_greater, maybe_list
from django.db import connection, transaction
from kombu.utils import json as kombu_json

from jobs.ledger import attempts
from jobs.ledger import workflows as ledger_workflows
from jobs.ledger.ids import uuid7
from jobs.ledger.models import Job, JobStatus, WorkflowChord

log = logging.getLogger(__name__)

CANVAS_OPTIONS = ("chain", "chord", "group_id", "root_id")


def _data(value: Any) -> Any:
    """A signature (or a list of them) as the JSON Celery would put in its message."""
    return kombu_json.loads(kombu_json.dumps(value))


def _frozen(sig: Any) -> dict:
    """A callback signature with its task id fixed now, so its job has a known id (its
    workflow's page lists it, a revoke of it finds the workflow)."""
    sig = signature(sig, app=current_app)
    if not sig.subtask_type:
        sig.options.setdefault("task_id", str(uuid7()))
    else:
        sig.freeze()
    return _data(sig)


def is_canvas_call(options: dict, link: Any, link_error: Any) -> bool:
    return bool(link or link_error or any(options.get(name) for name in CANVAS_OPTIONS))


def _header_chain_workflow(options: dict) -> str | None:
    """The workflow of the chord whose header holds this chain, for the chain's first step.

    Celery sends that step with neither the chord's root id nor its group id: its last step
    carries them, with the chord. Taken from there, the chain's steps join the chord's
    workflow, so that cancelling the chord cancels them and its page lists them."""
    for step in options.get("chain") or ():
        step_options = step.get("options") or {}
        if step_options.get("chord") and step_options.get("group_id"):
            return str(step_options.get("root_id") or step_options["group_id"])
    return None


def canvas_spec_fields(
    *, task_name: str, task_id: str | None, options: dict, link: Any, link_error: Any
) -> tuple[dict, list[ledger_workflows.Step], int]:
    """The JobSpec fields of a step (job_id, workflow_id, parent_id, continuation), the steps
    to record with it, and its position in its workflow."""
    job_id = str(task_id or uuid7())
    group_id = options.get("group_id")
    workflow_id = str(
        options.get("root_id") or group_id or _header_chain_workflow(options) or job_id
    )
    continuation: dict[str, Any] = {}
    if options.get("chain"):
        continuation["chain"] = _data(list(options["chain"]))
    if link:
        continuation["link"] = [_frozen(s) for s in maybe_list(link)]
    if link_error:
        continuation["link_error"] = [_frozen(s) for s in maybe_list(link_error)]
    if options.get("chord") and group_id:
        continuation["chord"] = str(group_id)
    if continuation:
        continuation["workflow"] = workflow_id
    role = "group" if group_id and options.get("group_index") is not None else "first"
    if options.get("chord"):
        role = "chord_header"
    elif options.get("parent_id"):
        role = "chain"
    steps = [ledger_workflows.Step(job_id, task_name, role)]
    steps.extend(ledger_workflows.options_steps(continuation))
    fields = {
        "job_id": job_id,
        "workflow_id": workflow_id,
        "parent_id": str(options["parent_id"]) if options.get("parent_id") else None,
        "continuation": continuation or None,
    }
    return fields, steps, int(options.get("group_index") or 0)


# --- the worker side ----------------------------------------------------------------------
def _in_transaction(work):
    """Run ``work`` in one transaction, waiting out a database outage when it is the
    outermost one (the whole transaction is retried: it commits all or nothing)."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return work()

    def once():
        with transaction.atomic():
            return work()

    return attempts.reconnecting(once)


def complete_step(claim: attempts.Claim, result: Any) -> bool:
    """Complete a workflow step and create what it sets off, in one transaction."""
    continuation = claim.continuation or {}

    def work() -> bool:
        if not attempts.job_complete_step(claim=claim, result=result):
            return False  # the attempt lost its claim: whoever holds the job continues it
        workflow_id = continuation["workflow"]
        if ledger_workflows.workflow_cancelled(workflow_id):
            ledger_workflows.continuation_abandon(
                continuation=continuation, parent_id=claim.job_id, reason="workflow cancelled"
            )
            return True
        for sig in continuation.get("link") or []:
            _apply(sig, (result,), workflow_id=workflow_id, parent_id=claim.job_id)
        chain = list(continuation.get("chain") or [])
        if chain:
            following = chain.pop()
            _apply(
                following, (result,), workflow_id=workflow_id, parent_id=claim.job_id, chain=chain
            )
        if continuation.get("chord"):
            fired = ledger_workflows.chord_part_done(continuation["chord"])
            if fired is not None:
                body, results = fired
                _apply(body, (results,), workflow_id=workflow_id, parent_id=claim.job_id)
        return True

    return _in_transaction(work)


def fail_step(
    claim: attempts.Claim,
    *,
    error: str,
    traceback: str,
    exc: BaseException | None = None,
    request: Any = None,
) -> bool:
    """Fail a workflow step for good: its error callbacks are applied and every step it
    would have set off is cancelled, saying which job failed and why, in one transaction.
    The admins are mailed after the commit, as for any failed job, and the error callbacks
    that take ``(request, exc, traceback)`` are called then with the failing task's
    ``request``, ``exc`` and ``traceback``."""
    continuation = claim.continuation or {}

    def work() -> list[InProcessErrback] | None:
        if not attempts.job_fail_step(claim=claim, error=error, traceback=traceback):
            return None
        return _after_failure(job_id=claim.job_id, continuation=continuation, error=error)

    in_process = _in_transaction(work)
    if in_process is None:
        return False
    attempts.notify_admins_of_failure(job_id=claim.job_id)
    call_errbacks(
        in_process,
        job_id=claim.job_id,
        request=request,
        exc=exc if exc is not None else Exception(error),
        traceback=traceback,
        fallback=_request_of(
            claim.job_id, "unknown", (), {}, workflow_id=continuation.get("workflow")
        ),
    )
    return True


def step_ended_abnormally(*, job_id: str, request: Any = None) -> None:
    """A step that ended outside its attempt (its worker process kept dying and it failed
    as a poison job, or a revoke terminated it): what it would have set off is settled, as
    its failure would (or, terminated, its workflow's cancellation) settle it. Its own end
    was written by the statement before, so this is a transaction of its own; a crash
    between the two leaves the steps after it pending, visible on the workflow's page.
    A failed step's ``(request, exc, traceback)`` error callbacks are called after the
    commit with ``WorkerLostError`` and no traceback, as Celery calls them when a worker
    process is lost; ``request`` is the Celery request when the worker has it, else one
    made from the job's row."""
    job = (
        Job.objects.filter(id=job_id)
        .only("status", "error", "continuation", "task", "args", "kwargs")
        .first()
    )
    if job is None or not job.continuation:
        return
    continuation = job.continuation

    def work() -> list[InProcessErrback]:
        if job.status == JobStatus.FAILED:
            return _after_failure(job_id=job_id, continuation=continuation, error=job.error)
        ledger_workflows.continuation_abandon(
            continuation=continuation, parent_id=job_id, reason=job.error or "cancelled"
        )
        return []

    in_process = _in_transaction(work)
    if in_process:
        call_errbacks(
            in_process,
            job_id=job_id,
            request=request,
            exc=WorkerLostError(job.error),
            traceback=None,
            fallback=_request_of(job_id, job.task, job.args, job.kwargs, workflow_id=None),
        )


@dataclass(frozen=True)
class InProcessErrback:
    """An error callback Celery would call in the failing worker, and for what: the failed
    job itself, or (``body`` set) the body of a chord it fails, whose error callbacks Celery
    calls with a request made from the body and a ``ChordError``."""

    sig: dict
    body: dict | None = None


def takes_request(sig: Signature) -> bool:
    """Celery's test (``BaseBackend._call_task_errbacks``): an error callback whose task's
    function takes more than one argument besides those the signature stores is called
    with ``(request, exc, traceback)``; any other is applied with the failed task's id. A
    bound task's header is a partial, and counts as the second kind, as in Celery."""
    if sig.subtask_type:
        return False
    try:
        header = getattr(sig.type, "__header__", None)
    except NotRegistered:
        return False  # not known here: applied, for a worker that knows it
    if header is None or isinstance(header, partial):
        return False
    if not sig.immutable and (sig.args or sig.kwargs):
        try:
            return arity_greater(partial(header, *sig.args, **sig.kwargs), 1)
        except (TypeError, ValueError):
            pass
    return arity_greater(header, 1)


def _request_of(task_id, task: str, args, kwargs, *, workflow_id: str | None) -> Context:
    """A request made for an error callback when there is no Celery request to give it
    (Celery's ``_create_fake_task_request``)."""
    return Context(
        {
            "id": str(task_id) if task_id else None,
            "task": task,
            "args": list(args or []),
            "kwargs": dict(kwargs or {}),
            "root_id": workflow_id,
            "errbacks": [],
            "delivery_info": {},
        }
    )


def call_errbacks(
    errbacks: list[InProcessErrback],
    *,
    job_id: str,
    request: Any,
    exc: BaseException,
    traceback: str | None,
    fallback: Context | None = None,
) -> None:
    """Call ``(request, exc, traceback)`` error callbacks in this process, after the
    failure has committed, as Celery's worker does. They are not ledger jobs: one that
    raises is logged and the failure stays as recorded."""
    for errback in errbacks:
        sig = signature(errback.sig, app=current_app)
        if errback.body is not None:
            body = errback.body
            body_options = body.get("options") or {}
            args: tuple = (
                _request_of(
                    body_options.get("task_id"),
                    body.get("task") or "unknown",
                    body.get("args"),
                    body.get("kwargs"),
                    workflow_id=body_options.get("root_id"),
                ),
                ChordError(f"Dependency {job_id} raised {exc!r}"),
                None,
            )
        else:
            args = (request if request is not None else fallback, exc, traceback)
        try:
            sig(*args)
        except Exception:
            log.exception("error callback %s of failed job %s raised", sig.task, job_id)


def _after_failure(*, job_id: str, continuation: dict, error: str) -> list[InProcessErrback]:
    """Settle what a failed step would have set off, in the current transaction. Returns
    the error callbacks to call in this process once it has committed."""
    workflow_id = continuation["workflow"]
    cancelled = ledger_workflows.workflow_cancelled(workflow_id)
    reason = "workflow cancelled" if cancelled else f"not run: job {job_id} failed: {error}"
    # Each error callback with the chord body it belongs to (None: the job's own).
    errbacks: list[tuple[dict, dict | None]] = (
        [] if cancelled else [(s, None) for s in continuation.get("link_error") or []]
    )
    # The job's own error callbacks are applied below, so they are not cancelled here.
    abandoned = list(ledger_workflows.options_steps(continuation, link_error=cancelled))
    ledger_workflows.steps_abandon(
        steps=abandoned, workflow_id=workflow_id, parent_id=job_id, reason=reason
    )
    # The chord this job is a header job of, and those whose header a step abandoned here
    # would have ended (a chain in a chord's header): each is told that a member will not
    # complete.
    chords = [continuation["chord"]] if continuation.get("chord") else []
    chords.extend(step.chord for step in abandoned if step.chord)
    for chord_id in dict.fromkeys(chords):
        if not cancelled and ledger_workflows.chord_continues_on_failure(chord_id):
            fired = ledger_workflows.chord_part_done(chord_id)
            if fired is not None:
                fired_body, results = fired
                _apply(fired_body, (results,), workflow_id=workflow_id, parent_id=job_id)
            continue
        body = ledger_workflows.chord_end(chord_id, state=WorkflowChord.State.FAILED)
        if body is not None:
            # Celery applies a failed chord's body's error callbacks; the body does not run.
            options = body.get("options") or {}
            ledger_workflows.steps_abandon(
                steps=ledger_workflows.signature_steps(
                    body if cancelled else {**body, "options": {**options, "link_error": []}},
                    "chord_body",
                ),
                workflow_id=workflow_id,
                parent_id=job_id,
                reason=reason,
            )
            if not cancelled:
                errbacks.extend((s, body) for s in options.get("link_error") or [])
    in_process = []
    for sig, chord_body in errbacks:
        if takes_request(signature(sig, app=current_app)):
            in_process.append(InProcessErrback(sig, chord_body))
        else:
            _apply(sig, (job_id,), workflow_id=workflow_id, parent_id=job_id)
    return in_process


def _apply(
    sig_data: dict, args: tuple, *, workflow_id: str, parent_id: str, chain: list | None = None
) -> None:
    """Apply a stored signature as Celery's worker would, in the current transaction."""
    sig: Signature = signature(sig_data, app=current_app)
    options: dict[str, Any] = {"root_id": workflow_id, "parent_id": parent_id}
    if chain:
        options["chain"] = chain
    task = current_app.tasks.get(sig.task) if not sig.subtask_type else None
    if task is not None and not getattr(task, "ledger", False):
        # A plain Celery task has no row to write: its message goes after the commit.
        transaction.on_commit(lambda: sig.apply_async(args, **options))
        return
    sig.apply_async(args, **options)
