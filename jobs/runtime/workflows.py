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
  (Celery's errback arguments for a signature it applies), and every step it would have
  set off is cancelled saying why; its chord fails, or, when the chord's body has
  ``continue_on_failure``, counts it as ended (its slot an error marker). Retrying the job
  (``job_retry``) undoes that: ``jobs.ledger.workflows.step_resume``.

A signature of a ledger task becomes a ledger job in that transaction (its message goes
after the commit); a plain Celery task's is sent after the commit.
"""

import logging
from typing import Any

from celery import current_app
from celery.canvas import Signature, signature
from celery.utils.functional import maybe_list
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


def canvas_spec_fields(
    *, task_name: str, task_id: str | None, options: dict, link: Any, link_error: Any
) -> tuple[dict, list[ledger_workflows.Step], int]:
    """The JobSpec fields of a step (job_id, workflow_id, parent_id, continuation), the steps
    to record with it, and its position in its workflow."""
    job_id = str(task_id or uuid7())
    group_id = options.get("group_id")
    workflow_id = str(options.get("root_id") or group_id or job_id)
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


def fail_step(claim: attempts.Claim, *, error: str, traceback: str) -> bool:
    """Fail a workflow step for good: its error callbacks are applied and every step it
    would have set off is cancelled, saying which job failed and why, in one transaction.
    The admins are mailed after the commit, as for any failed job."""
    continuation = claim.continuation or {}

    def work() -> bool:
        if not attempts.job_fail_step(claim=claim, error=error, traceback=traceback):
            return False
        _after_failure(job_id=claim.job_id, continuation=continuation, error=error)
        return True

    failed = _in_transaction(work)
    if failed:
        attempts.notify_admins_of_failure(job_id=claim.job_id)
    return failed


def step_ended_abnormally(*, job_id: str) -> None:
    """A step that ended outside its attempt (its worker process kept dying and it failed
    as a poison job, or a revoke terminated it): what it would have set off is settled, as
    its failure would (or, terminated, its workflow's cancellation) settle it. Its own end
    was written by the statement before, so this is a transaction of its own; a crash
    between the two leaves the steps after it pending, visible on the workflow's page."""
    job = Job.objects.filter(id=job_id).only("status", "error", "continuation").first()
    if job is None or not job.continuation:
        return
    continuation = job.continuation

    def work() -> None:
        if job.status == JobStatus.FAILED:
            _after_failure(job_id=job_id, continuation=continuation, error=job.error)
        else:
            ledger_workflows.continuation_abandon(
                continuation=continuation, parent_id=job_id, reason=job.error or "cancelled"
            )

    _in_transaction(work)


def _after_failure(*, job_id: str, continuation: dict, error: str) -> None:
    workflow_id = continuation["workflow"]
    cancelled = ledger_workflows.workflow_cancelled(workflow_id)
    reason = "workflow cancelled" if cancelled else f"not run: job {job_id} failed: {error}"
    errbacks = [] if cancelled else list(continuation.get("link_error") or [])
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
                errbacks.extend(options.get("link_error") or [])
    for sig in errbacks:
        _apply(sig, (job_id,), workflow_id=workflow_id, parent_id=job_id)


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
