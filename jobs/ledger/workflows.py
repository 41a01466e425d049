"""Workflows (Celery's canvas: chain, group, chord, link, link_error) in the ledger.

Celery carries a canvas in its messages: the rest of a chain in the ``chain`` field, the
callbacks in ``callbacks``/``errbacks``, a chord's body in ``chord``, and its workers apply
them after a task returns, outside any transaction, so a worker killed in between loses the
rest of the workflow. Here the same signatures are stored on the job row
(``Job.continuation``) when the job is enqueued, in the caller's transaction, and what a
step sets off is created in the transaction that completes (or fails) the step:

    continuation = {
        "workflow": "<workflow id>",
        "chain": [signature, ...],      # the rest of the chain, last step first (Celery's order)
        "link": [signature, ...],       # applied with the result on success
        "link_error": [signature, ...], # when it fails for good: applied with the job's id,
                                        # or called with (request, exc, traceback)
        "chord": "<chord id>",          # the chord whose header this job completes
    }

A job in no workflow has no continuation (NULL), and its completion is the one statement
it always was. Signatures are Celery's own dicts; this module reads them as data (ids, task
names) and never applies one: ``jobs.runtime.workflows`` does, through Celery.
"""

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from jobs.ledger import sql
from jobs.ledger.models import Job, JobStatus, Workflow, WorkflowChord, WorkflowStep


@dataclass(frozen=True)
class Step:
    id: str
    task: str
    role: str
    args: tuple = ()
    kwargs: dict | None = None
    queue: str | None = None
    # The chord whose header this step completes (the last step of a chain in a header).
    chord: str | None = None


def _tasks_of(value: Any) -> list:
    """The member signatures of a group or chain dict (or of a plain list of them)."""
    if isinstance(value, dict):
        value = (value.get("kwargs") or {}).get("tasks") or []
    return list(value or [])


def signature_steps(sig: dict, role: str) -> Iterator[Step]:
    """Every task signature inside ``sig`` (a Celery signature as a dict) that carries a
    task id, with what it sets off itself (its options' chain, link and link_error)."""
    kind = sig.get("subtask_type")
    kwargs = sig.get("kwargs") or {}
    if kind in ("chain", "group"):
        for member in _tasks_of(kwargs.get("tasks")):
            yield from signature_steps(member, "group" if kind == "group" else role)
    elif kind == "chord":
        for member in _tasks_of(kwargs.get("header")):
            yield from signature_steps(member, "chord_header")
        if kwargs.get("body"):
            yield from signature_steps(kwargs["body"], "chord_body")
    else:
        options = sig.get("options") or {}
        task_id = options.get("task_id")
        if task_id and sig.get("task"):
            yield Step(
                str(task_id),
                sig["task"],
                role,
                args=tuple(sig.get("args") or ()),
                kwargs=dict(sig.get("kwargs") or {}),
                queue=options.get("queue"),
                chord=str(options["group_id"])
                if options.get("chord") and options.get("group_id")
                else None,
            )
    yield from options_steps(sig.get("options") or {})


def options_steps(options: dict, *, link_error: bool = True) -> Iterator[Step]:
    """The steps a job's options (or continuation) set off: its chain, in the order they
    run, its link callbacks and (``link_error``) its error callbacks."""
    for sig in reversed(options.get("chain") or []):
        yield from signature_steps(sig, "chain")
    for sig in options.get("link") or []:
        yield from signature_steps(sig, "link")
    if link_error:
        for sig in options.get("link_error") or []:
            yield from signature_steps(sig, "link_error")


def workflow_record(
    *, workflow_id: str, steps: Iterable[Step], position: int = 0, now=None
) -> None:
    """Record a workflow and steps of it (both idempotent: a step known already keeps its
    place). Called in the transaction that enqueues the steps' first job."""
    now = now or timezone.now()
    Workflow.objects.bulk_create([Workflow(id=workflow_id, created_at=now)], ignore_conflicts=True)
    rows = [
        WorkflowStep(
            id=step.id,
            workflow_id=workflow_id,
            position=position + i,
            task=step.task[:200],
            role=step.role,
        )
        for i, step in enumerate(steps)
    ]
    if rows:
        WorkflowStep.objects.bulk_create(rows, ignore_conflicts=True)


def workflow_of(object_id: str) -> str | None:
    """The workflow an id belongs to: a workflow's own id, a step's, or a job's."""
    try:
        key = uuid.UUID(str(object_id))
    except ValueError:
        return None
    if Workflow.objects.filter(id=key).exists():
        return str(key)
    step = WorkflowStep.objects.filter(id=key).values_list("workflow_id", flat=True).first()
    if step is not None:
        return str(step)
    job = Job.objects.filter(id=key).values_list("workflow_id", flat=True).first()
    return str(job) if job is not None else None


def workflow_cancelled(workflow_id: str) -> bool:
    """Whether the workflow was cancelled, holding its row (FOR SHARE on PostgreSQL) until
    the transaction ends: a cancel waits for a step's completion to commit and then
    cancels the successors it created, or the completion waits for the cancel and creates
    no successor. Either way nothing runs after the cancel."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql.WORKFLOW_CANCELLED_FOR_SHARE, [workflow_id])
            row = cursor.fetchone()
    else:
        row = Workflow.objects.filter(id=workflow_id).values_list("cancelled_at").first()
    return bool(row and row[0] is not None)


def steps_abandon(*, steps: Iterable[Step], workflow_id: str, parent_id: str, reason: str) -> int:
    """Steps that will never run (their predecessor failed, or the workflow was cancelled)
    become ``cancelled`` jobs under their own ids, saying why: ``AsyncResult(id)`` of any of
    them, the chain's result included, answers REVOKED with the reason instead of waiting
    for ever. A step whose job exists already is left as it is."""
    now = timezone.now()
    rows = [
        Job(
            id=step.id,
            task=step.task[:200],
            args=list(step.args),
            kwargs=dict(step.kwargs or {}),
            queue=(step.queue or "default")[:100],
            status=JobStatus.CANCELLED,
            error=reason[:2000],
            workflow_id=workflow_id,
            parent_id=parent_id,
            created_at=now,
            scheduled_for=now,
            finished_at=now,
        )
        for step in steps
    ]
    if not rows:
        return 0
    return len(Job.objects.bulk_create(rows, ignore_conflicts=True))


def chord_record(
    *, chord_id: str, workflow_id: str, header_ids: list[str], body: dict, steps: list[Step]
) -> None:
    """A chord's counter row, written before its header jobs (Celery's ``apply_chord``)."""
    now = timezone.now()
    workflow_record(workflow_id=workflow_id, steps=steps, position=len(header_ids), now=now)
    WorkflowChord.objects.create(
        id=chord_id,
        workflow_id=workflow_id,
        header_ids=[str(i) for i in header_ids],
        body=body,
        size=len(header_ids),
        created_at=now,
    )


# A chord's body option: the body runs even when header jobs fail for good, with an error
# marker in their slots (BullMQ's ignoreDependencyOnFailure; Celery has no equivalent).
CONTINUE_ON_FAILURE = "continue_on_failure"


def chord_continues_on_failure(chord_id: str) -> bool:
    return bool(
        WorkflowChord.objects.filter(id=chord_id)
        .values_list(f"body__options__{CONTINUE_ON_FAILURE}", flat=True)
        .first()
    )


def _counted_statuses(body: dict) -> set[str]:
    """The header jobs' statuses a chord counts as done: completed, and with
    ``continue_on_failure`` failed and never-run (cancelled) too."""
    if (body.get("options") or {}).get(CONTINUE_ON_FAILURE):
        return {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
    return {JobStatus.COMPLETED}


def chord_part_done(chord_id: str) -> tuple[dict, list] | None:
    """One header job completed (or, ``continue_on_failure``, ended for good), in the
    transaction that ends it. Returns the body and the header's results, in the header's
    order, to the one that was the last: the row lock taken by the increment orders the
    header jobs' ends, and the body is created by exactly one of them.

    Every end counts, whatever the chord's state: a retry that revives a failed chord
    (``chord_revive``) counts the header jobs done under the same row lock, so an end that
    commits meanwhile is counted by one of the two, never by both or neither."""
    WorkflowChord.objects.filter(id=chord_id).update(done=F("done") + 1)
    counter = WorkflowChord.objects.filter(id=chord_id).values("done", "size", "state").first()
    if counter is None or counter["state"] != WorkflowChord.State.WAITING:
        return None  # failed, cancelled or fired: the body is not created (again)
    if counter["done"] < counter["size"]:
        return None
    return _chord_fire(chord_id)


def _chord_fire(chord_id: str) -> tuple[dict, list] | None:
    if not WorkflowChord.objects.filter(id=chord_id, state=WorkflowChord.State.WAITING).update(
        state=WorkflowChord.State.FIRED
    ):
        return None
    body, header_ids = (
        WorkflowChord.objects.filter(id=chord_id).values_list("body", "header_ids").get()
    )
    # READ COMMITTED: each statement sees every end committed before it, and the others'
    # ends committed before their increments released the row to this one.
    ended = {
        job_id: (status, result, error)
        for job_id, status, result, error in Job.objects.filter(id__in=header_ids).values_list(
            "id", "status", "result", "error"
        )
    }
    results = []
    for header_id in header_ids:
        status, result, error = ended.get(uuid.UUID(header_id), (None, None, ""))
        if status == JobStatus.COMPLETED:
            results.append(result)
        else:  # continue_on_failure: the slot of a header job that failed or never ran
            results.append({"job_id": header_id, "status": status, "error": error})
    return body, results


def chord_end(chord_id: str, *, state: str) -> dict | None:
    """A header job failed (``state`` failed) or the workflow was cancelled: the chord will
    not fire. Returns its body to the caller that ended it (once), else None."""
    chord = WorkflowChord.objects.filter(id=chord_id, state=WorkflowChord.State.WAITING)
    body = chord.values_list("body", flat=True).first()
    if body is None or not chord.update(state=state):
        return None
    return body


def chord_revive(chord_id: str) -> None:
    """A header job of the chord is retried (its row is waiting again, in this
    transaction): the counter is recounted from the header jobs' statuses under the row
    lock, and a chord that failed waits again once none of its header jobs is failed or
    cancelled, its body's placeholder removed so that the last header job creates the body.
    A chord that fired or was cancelled stays as it is: its body runs at most once."""
    chord = WorkflowChord.objects.select_for_update().filter(id=chord_id).first()
    if chord is None or chord.state in (WorkflowChord.State.FIRED, WorkflowChord.State.CANCELLED):
        return
    statuses = list(Job.objects.filter(id__in=chord.header_ids).values_list("status", flat=True))
    counted = _counted_statuses(chord.body)
    done = sum(1 for status in statuses if status in counted)
    blocked = any(
        status in (JobStatus.FAILED, JobStatus.CANCELLED) and status not in counted
        for status in statuses
    )
    state = chord.state
    if state == WorkflowChord.State.FAILED and not blocked:
        state = WorkflowChord.State.WAITING
        placeholders_remove(
            ids=[s.id for s in signature_steps(chord.body, "chord_body")], parent_id=None
        )
    WorkflowChord.objects.filter(id=chord_id).update(done=done, state=state)


def placeholders_remove(*, ids: list[str], parent_id: str | None) -> int:
    """Remove the ``cancelled`` placeholders of steps that never ran (``steps_abandon``), so
    that the steps are created again when what precedes them completes."""
    if not ids:
        return 0
    rows = Job.objects.filter(id__in=ids, status=JobStatus.CANCELLED, started_at__isnull=True)
    if parent_id is not None:
        rows = rows.filter(parent_id=parent_id)
    return rows.delete()[0]


def step_resume(*, job_id: str, continuation: dict | None) -> None:
    """A finished step is retried (``job_retry``, its row waiting again in this
    transaction): what its failure settled is undone, so that its completion sets off its
    successors as a first completion would. The placeholders its failure created (its
    successors, ``cancelled`` saying it failed) are removed, and the chords it is a header
    job of, or whose header its successors end, are revived (``chord_revive``). Error
    callbacks it applied have run and are not applied again; successors that exist (a
    completed step retried) are not created again."""
    if not continuation:
        return
    steps = list(options_steps(continuation, link_error=False))
    placeholders_remove(ids=[s.id for s in steps], parent_id=job_id)
    chords = [continuation["chord"]] if continuation.get("chord") else []
    chords.extend(s.chord for s in steps if s.chord)
    for chord_id in dict.fromkeys(chords):
        chord_revive(chord_id)


def workflow_cancel(*, workflow_id: str, reason: str = "workflow cancelled") -> int:
    """Cancel a workflow: no further step is created, and its jobs that have not started
    are cancelled together with every step they would have set off. A step already running
    finishes (``revoke(terminate=True)`` stops it); its successors are not created. Returns
    how many jobs were cancelled (placeholders for steps not yet created included)."""
    now = timezone.now()
    with transaction.atomic():
        marked = Workflow.objects.filter(id=workflow_id, cancelled_at__isnull=True).update(
            cancelled_at=now
        )
        if not marked and not Workflow.objects.filter(id=workflow_id).exists():
            return 0
        live = list(
            Job.objects.select_for_update()
            .filter(workflow_id=workflow_id, status__in=[JobStatus.DELAYED, JobStatus.WAITING])
            .values_list("id", "continuation")
        )
        count = Job.objects.filter(
            id__in=[job_id for job_id, _ in live],
            status__in=[JobStatus.DELAYED, JobStatus.WAITING],
        ).update(status=JobStatus.CANCELLED, finished_at=now, needs_publish=False, error=reason)
        for job_id, continuation in live:
            if continuation:
                count += continuation_abandon(
                    continuation=continuation, parent_id=str(job_id), reason=reason
                )
        for chord in WorkflowChord.objects.filter(
            workflow_id=workflow_id, state=WorkflowChord.State.WAITING
        ):
            body = chord_end(str(chord.id), state=WorkflowChord.State.CANCELLED)
            if body is not None:
                count += steps_abandon(
                    steps=signature_steps(body, "chord_body"),
                    workflow_id=workflow_id,
                    parent_id=str(chord.id),
                    reason=reason,
                )
    return count


def continuation_abandon(*, continuation: dict, parent_id: str, reason: str) -> int:
    """Every step a job's continuation would have set off, cancelled with ``reason``."""
    return steps_abandon(
        steps=options_steps(continuation),
        workflow_id=continuation["workflow"],
        parent_id=parent_id,
        reason=reason,
    )


def workflows_cancel_of_jobs(job_ids: Iterable[Any], *, reason: str) -> int:
    """The workflows of these jobs (ids, or not-yet-created step ids), cancelled."""
    workflows = {w for w in (workflow_of(str(i)) for i in job_ids) if w is not None}
    return sum(workflow_cancel(workflow_id=w, reason=reason) for w in workflows)


# --- reading a workflow -------------------------------------------------------------------------
PENDING = "pending"  # a step whose job has not been created yet


def workflow_detail(object_id: str) -> dict | None:
    """A workflow, found by its id or any of its steps' ids: its steps in order with their
    jobs' status and timing (``pending`` for a step whose job does not exist yet), its
    chords' counters, and its status: ``cancelled``, ``failed`` (a step failed), ``completed``
    (every step that is not an error callback completed) or ``running``."""
    workflow_id = workflow_of(object_id)
    workflow = Workflow.objects.filter(id=workflow_id).first() if workflow_id else None
    if workflow is None:
        return None
    steps = list(WorkflowStep.objects.filter(workflow=workflow).order_by("position", "id"))
    jobs = {job.id: job for job in Job.objects.filter(workflow_id=workflow.id)}
    rows = []
    for step in steps:
        rows.append(
            _step_row(step.id, step.task, step.role, step.position, jobs.pop(step.id, None))
        )
    for job in sorted(jobs.values(), key=lambda j: j.created_at):  # created, never recorded
        rows.append(_step_row(job.id, job.task, "job", len(rows), job))
    counted = [r for r in rows if r["role"] != "link_error" or r["status"] != PENDING]
    if workflow.cancelled_at is not None:
        status = "cancelled"
    elif any(r["status"] == JobStatus.FAILED for r in counted):
        status = "failed"
    elif counted and all(r["status"] == JobStatus.COMPLETED for r in counted):
        status = "completed"
    else:
        status = "running"
    started = [r["started_at"] for r in rows if r["started_at"]]
    finished = [r["finished_at"] for r in rows if r["finished_at"]]
    return {
        "id": workflow.id,
        "status": status,
        "created_at": workflow.created_at,
        "cancelled_at": workflow.cancelled_at,
        "started_at": min(started) if started else None,
        "finished_at": max(finished) if finished and status != "running" else None,
        "steps": rows,
        "chords": [
            {
                "id": c.id,
                "size": c.size,
                "done": c.done,
                "state": c.state,
                "continue_on_failure": bool((c.body.get("options") or {}).get(CONTINUE_ON_FAILURE)),
            }
            for c in WorkflowChord.objects.filter(workflow=workflow).order_by("created_at")
        ],
    }


def _step_row(step_id, task: str, role: str, position: int, job: Job | None) -> dict:
    return {
        "id": step_id,
        "task": task,
        "role": role,
        "position": position,
        "status": job.status if job else PENDING,
        "parent_id": job.parent_id if job else None,
        "attempts": job.attempts if job else 0,
        "created_at": job.created_at if job else None,
        "started_at": job.started_at if job else None,
        "finished_at": job.finished_at if job else None,
        "error": job.error if job else "",
    }
