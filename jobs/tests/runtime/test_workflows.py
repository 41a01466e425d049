"""Celery's canvas (chain, link, link_error, group, chord) on ledger tasks: recorded when it is
enqueued, each step's successors created in the transaction that completes the step, run by
real workers against real Redis and PostgreSQL."""

import json
import time

import pytest
from celery import chain, chord, group
from celery.exceptions import TaskRevokedError
from celery.result import AsyncResult
from django.db import transaction

from jobs.models import Job, JobStatus, Workflow, WorkflowChord, WorkflowStep
from jobs.tasks import sleep
from tests.support.waiting import wait_for
from tests.testapp.models import SideEffect
from tests.testapp.tasks import (
    add,
    boom,
    collect,
    complete_then_die,
    crash,
    fails_until_allowed,
    note,
    on_error,
    on_error_raises,
    record,
    step_fails,
    total,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _job(job_id) -> Job | None:
    return Job.objects.filter(id=job_id).first()


def _finished(job_id) -> Job | None:
    job = _job(job_id)
    return job if job is not None and job.status in ("completed", "failed", "cancelled") else None


def test_a_chain_is_recorded_whole_in_the_callers_transaction():
    with transaction.atomic():
        result = chain(add.s(1, 2), add.s(3), add.s(4)).apply_async()
        transaction.set_rollback(True)
    assert not Job.objects.exists() and not Workflow.objects.exists()

    result = chain(add.s(1, 2), add.s(3), add.s(4)).apply_async()
    (first,) = Job.objects.all()
    assert first.task == "testapp.add" and first.args == [1, 2]
    assert first.workflow_id == first.id
    assert [s["args"] for s in reversed(first.continuation["chain"])] == [[3], [4]]
    steps = list(WorkflowStep.objects.filter(workflow_id=first.id).order_by("position"))
    assert [str(s.id) for s in steps][0] == str(first.id)
    assert str(steps[-1].id) == result.id  # the chain's result is its last step's


def test_a_chain_of_three_passes_each_result_to_the_next(worker):
    result = chain(add.s(1, 2), add.s(3), add.s(4)).apply_async()

    assert AsyncResult(result.id).get(timeout=30) == 10
    last = Job.objects.get(id=result.id)
    middle = Job.objects.get(id=last.parent_id)
    first = Job.objects.get(id=middle.parent_id)
    assert (first.args, middle.args, last.args) == ([1, 2], [3, 3], [6, 4])
    assert {first.workflow_id, middle.workflow_id, last.workflow_id} == {first.id}
    assert SideEffect.objects.filter(key="add").count() == 3


def test_link_gets_the_result_and_an_immutable_signature_does_not(worker):
    linked = add.apply_async((1, 1), link=note.s("linked"))
    fixed = add.apply_async((2, 2), link=note.si("fixed"))

    assert linked.get(timeout=20) == 2 and fixed.get(timeout=20) == 4
    wait_for(lambda: SideEffect.objects.filter(key__startswith="[").count() == 2, timeout=20)
    assert set(SideEffect.objects.filter(key__startswith="[").values_list("key", flat=True)) == {
        json.dumps([2, "linked"]),
        json.dumps(["fixed"]),
    }
    callback = Job.objects.get(task="testapp.note", args=[2, "linked"])
    assert str(callback.parent_id) == linked.id and str(callback.workflow_id) == linked.id


def test_a_step_failing_after_its_retries_runs_link_error_and_cancels_its_dependants(worker):
    result = chain(add.s(1, 1), step_fails.s(), add.s(5)).apply_async(link_error=note.s())

    with pytest.raises(TaskRevokedError, match="failed: RuntimeError: the step cannot succeed"):
        AsyncResult(result.id).get(timeout=30)
    failed = Job.objects.get(task="testapp.step_fails")
    assert (failed.status, failed.attempts, failed.args) == (JobStatus.FAILED, 2, [2])
    dependant = Job.objects.get(id=result.id)
    assert dependant.status == JobStatus.CANCELLED and dependant.started_at is None
    assert f"job {failed.id} failed" in dependant.error
    errback = wait_for(lambda: _finished(Job.objects.get(task="testapp.note").id), timeout=20)
    assert errback.status == JobStatus.COMPLETED and errback.args == [str(failed.id)]
    assert SideEffect.objects.filter(key="add").count() == 1  # the last add never ran


def _errback_calls(**filters) -> list[tuple[dict, str]]:
    return [
        (json.loads(e.key), e.job_id)
        for e in SideEffect.objects.filter(**filters).exclude(key="add").order_by("id")
    ]


def _settled_errback_calls() -> list[tuple[dict, str]]:
    """The in-worker error callbacks' calls, once some arrived and a second brought no more."""
    calls = wait_for(lambda: _errback_calls(), timeout=20)
    time.sleep(1)
    assert _errback_calls() == calls
    return calls


def test_an_errback_taking_request_exc_traceback_is_called_in_the_worker_like_celerys(worker):
    result = boom.apply_async(link_error=on_error.s())

    with pytest.raises(Exception, match="the failure an operator must see"):
        AsyncResult(result.id).get(timeout=30)
    failed = Job.objects.get(id=result.id)
    assert failed.status == JobStatus.FAILED
    calls = wait_for(lambda: _errback_calls(job_id=str(failed.id)), timeout=20)
    time.sleep(1)  # a second call would show up meanwhile
    assert (
        _errback_calls(job_id=str(failed.id))
        == calls
        == [
            (
                {
                    "task": "testapp.boom",
                    "exc": "Boom: the failure an operator must see in the worker's log",
                    "traceback": "str",
                },
                str(failed.id),
            )
        ]
    )
    # Called in the worker, as Celery does: not a ledger job.
    assert not Job.objects.filter(task="testapp.on_error").exists()
    assert Job.objects.get(id=result.id).status == JobStatus.FAILED


def test_a_chain_whose_second_step_fails_calls_its_request_exc_traceback_errback(worker):
    result = chain(add.s(1, 1), step_fails.s(), add.s(5)).apply_async(link_error=on_error.s())

    with pytest.raises(TaskRevokedError, match="failed: RuntimeError: the step cannot succeed"):
        AsyncResult(result.id).get(timeout=30)
    failed = Job.objects.get(task="testapp.step_fails")
    assert failed.status == JobStatus.FAILED and failed.attempts == 2
    calls = _settled_errback_calls()
    assert calls == [
        (
            {
                "task": "testapp.step_fails",
                "exc": "RuntimeError: the step cannot succeed",
                "traceback": "str",
            },
            str(failed.id),
        )
    ]
    assert Job.objects.get(id=result.id).status == JobStatus.CANCELLED
    assert not Job.objects.filter(task="testapp.on_error").exists()
    assert SideEffect.objects.filter(key="add").count() == 1


def test_an_errback_that_raises_is_logged_and_the_failure_stays_recorded(worker):
    result = boom.apply_async(link_error=[on_error_raises.s(), note.s()])

    with pytest.raises(Exception, match="the failure an operator must see"):
        AsyncResult(result.id).get(timeout=30)
    wait_for(lambda: SideEffect.objects.filter(key="on_error_raises").exists(), timeout=20)
    wait_for(lambda: "the error callback failed too" in worker.log(), timeout=10)
    assert f"error callback testapp.on_error_raises of failed job {result.id} raised" in (
        worker.log()
    )
    assert Job.objects.get(id=result.id).status == JobStatus.FAILED
    # The single-argument errback beside it is still a ledger job with the failed job's id.
    errback = wait_for(lambda: _finished(Job.objects.get(task="testapp.note").id), timeout=20)
    assert errback.status == JobStatus.COMPLETED and errback.args == [str(result.id)]


def test_a_chord_bodys_request_exc_traceback_errback_is_called_when_a_header_job_fails(worker):
    body = collect.s()
    body.link_error(on_error.s())
    result = chord([add.s(1, 1), step_fails.s()], body).apply_async()

    with pytest.raises(TaskRevokedError):
        AsyncResult(result.id).get(timeout=30)
    failed = Job.objects.get(task="testapp.step_fails")
    calls = _settled_errback_calls()
    [(got, request_id)] = calls
    assert request_id == result.id and got["task"] == "testapp.collect"
    assert got["exc"].startswith(f"ChordError: Dependency {failed.id} raised RuntimeError")
    assert got["traceback"] is None
    assert not SideEffect.objects.filter(key="collect").exists()


def test_a_group_of_50_runs_each_member_as_a_ledger_job(worker):
    result = group(add.s(i, i) for i in range(50)).apply_async()

    assert result.get(timeout=60) == [2 * i for i in range(50)]
    members = Job.objects.filter(task="testapp.add")
    assert members.count() == 50 and {j.workflow_id for j in members} == {members[0].workflow_id}
    assert str(members[0].workflow_id) == result.id


def test_a_chord_of_100_runs_its_callback_once_with_every_result_in_order(worker):
    result = chord(add.s(i, 0) for i in range(100))(collect.s())

    assert AsyncResult(result.id).get(timeout=120) == list(range(100))
    assert Job.objects.filter(task="testapp.collect").count() == 1
    assert SideEffect.objects.filter(key="collect").count() == 1
    counter = WorkflowChord.objects.get()
    assert (counter.done, counter.size, counter.state) == (100, 100, "fired")


def test_a_group_inside_a_chain_becomes_a_chord_over_the_ledger(worker):
    result = chain(add.s(1, 1), group(add.s(10), add.s(20)), total.s()).apply_async()
    assert AsyncResult(result.id).get(timeout=30) == 34


def test_a_chain_inside_a_chord_header_counts_by_its_last_step(worker):
    header = [chain(add.s(1, 1), add.s(1)), add.s(5, 5)]
    result = chord(header)(collect.s())
    assert AsyncResult(result.id).get(timeout=30) == [3, 10]


def test_a_poison_step_fails_its_dependants_and_runs_link_error(worker):
    result = chain(crash.si(), add.si(1, 1)).apply_async(link_error=note.s())

    with pytest.raises(TaskRevokedError, match="poison job"):
        AsyncResult(result.id).get(timeout=60)
    poisoned = Job.objects.get(task="testapp.crash")
    assert poisoned.status == JobStatus.FAILED
    errback = wait_for(lambda: _finished(Job.objects.get(task="testapp.note").id), timeout=20)
    assert errback.args == [str(poisoned.id)]


def test_a_poison_steps_request_exc_traceback_errback_gets_worker_lost_error(worker):
    result = chain(crash.si(), add.si(1, 1)).apply_async(link_error=on_error.s())

    with pytest.raises(TaskRevokedError, match="poison job"):
        AsyncResult(result.id).get(timeout=60)
    poisoned = Job.objects.get(task="testapp.crash")
    calls = _settled_errback_calls()
    [(got, request_id)] = calls
    assert request_id == str(poisoned.id) and got["task"] == "testapp.crash"
    assert got["exc"].startswith("WorkerLostError: ") and got["traceback"] is None
    assert Job.objects.get(id=poisoned.id).status == JobStatus.FAILED


def test_a_worker_killed_between_a_steps_completion_and_its_successors_start(start_worker):
    first = start_worker("dies", queues=["default"])
    result = chain(complete_then_die.s(7), add.s(1)).apply_async()

    first.proc.wait(30)  # killed right after the completing transaction committed
    step = Job.objects.get(task="testapp.complete_then_die")
    successor = Job.objects.get(id=result.id)
    assert step.status == JobStatus.COMPLETED
    assert successor.status == JobStatus.WAITING and successor.args == [7, 1]

    start_worker("survivor", queues=["default"])
    assert AsyncResult(result.id).get(timeout=40) == 8
    assert SideEffect.objects.filter(key="complete_then_die").count() == 1
    assert SideEffect.objects.filter(key="add").count() == 1


def test_cancelling_a_chain_half_way_starts_no_further_step(worker):
    result = chain(add.s(1, 1), sleep.si(2), add.si(1, 1), add.si(2, 2)).apply_async()
    running = wait_for(
        lambda: Job.objects.filter(task="jobs.sleep", status=JobStatus.ACTIVE).first(), timeout=20
    )

    AsyncResult(result.id).revoke()  # the chain's id: its last step, not created yet

    wait_for(lambda: _finished(running.id), timeout=20)
    time.sleep(1.5)
    rest = Job.objects.filter(workflow_id=running.workflow_id, task="testapp.add").exclude(
        args=[1, 1], parent_id__isnull=True
    )
    assert rest.count() == 2
    assert all(j.status == JobStatus.CANCELLED and j.started_at is None for j in rest)
    assert SideEffect.objects.filter(key="add").count() == 1
    assert Workflow.objects.get(id=running.workflow_id).cancelled_at is not None
    with pytest.raises(TaskRevokedError):
        AsyncResult(result.id).get(timeout=5)


def test_cancelling_a_chord_stops_the_chain_in_its_header_too(worker, staff_api):
    header = [chain(sleep.si(2), add.si(1, 1)), add.s(5, 5)]
    result = chord(header)(collect.s())
    running = wait_for(
        lambda: Job.objects.filter(task="jobs.sleep", status=JobStatus.ACTIVE).first(), timeout=20
    )
    shown = staff_api.get(f"/api/jobs/workflows/{result.id}").json()
    assert str(running.id) in [s["id"] for s in shown["steps"]]  # the header chain's first step

    answer = staff_api.post(f"/api/jobs/workflows/{result.id}/cancel")

    assert answer.status_code == 200
    wait_for(lambda: _finished(running.id), timeout=20)
    time.sleep(1.5)
    after = Job.objects.get(task="testapp.add", args=[1, 1])  # the chain's second step
    assert after.status == JobStatus.CANCELLED and after.started_at is None
    body = Job.objects.filter(id=result.id).first()
    assert body is None or (body.status == JobStatus.CANCELLED and body.started_at is None)
    with pytest.raises(TaskRevokedError):
        AsyncResult(result.id).get(timeout=5)


# --- retrying a failed step resumes its workflow -------------------------------------------
def test_retrying_a_failed_chain_step_through_the_api_runs_the_rest_of_the_chain(worker, staff_api):
    result = chain(add.s(1, 2), fails_until_allowed.s(), add.s(4)).apply_async()
    with pytest.raises(TaskRevokedError, match="not allowed yet"):
        AsyncResult(result.id).get(timeout=30)
    failed = Job.objects.get(task="testapp.fails_until_allowed")
    assert failed.status == JobStatus.FAILED and failed.attempts == 1

    # The step that never ran is not the one to retry: the answer names the one that is.
    refused = staff_api.post(f"/api/jobs/{result.id}/retry")
    assert refused.status_code == 409
    assert f"retry job {failed.id}" in json.dumps(refused.json())

    SideEffect.objects.create(key="allowed")  # the cause is fixed
    answer = staff_api.post(f"/api/jobs/{failed.id}/retry")

    assert answer.status_code == 200 and answer.json()["status"] == "waiting"
    assert AsyncResult(result.id).get(timeout=30) == 7
    last = Job.objects.get(id=result.id)
    assert last.status == JobStatus.COMPLETED and last.args == [3, 4]
    assert str(last.parent_id) == str(failed.id)
    assert SideEffect.objects.filter(key="add").count() == 2  # the first and the last, once
    assert SideEffect.objects.filter(key="fails_until_allowed").count() == 2
    page = staff_api.get(f"/api/jobs/workflows/{result.id}").json()
    assert page["status"] == "completed"
    assert [s["status"] for s in page["steps"]] == ["completed"] * 3


def test_retrying_a_chords_failed_header_job_runs_its_body_once_with_every_result(
    worker, staff_api
):
    result = chord([add.s(1, 1), fails_until_allowed.s(5), add.s(2, 2)])(collect.s())
    with pytest.raises(TaskRevokedError, match="not allowed yet"):
        AsyncResult(result.id).get(timeout=30)
    failed = Job.objects.get(task="testapp.fails_until_allowed")
    wait_for(lambda: Job.objects.filter(task="testapp.add", status="completed").count() == 2)
    assert WorkflowChord.objects.get().state == "failed"

    SideEffect.objects.create(key="allowed")
    assert staff_api.post(f"/api/jobs/{failed.id}/retry").status_code == 200

    assert AsyncResult(result.id).get(timeout=30) == [2, 5, 4]
    assert Job.objects.filter(task="testapp.collect").count() == 1
    assert SideEffect.objects.filter(key="collect").count() == 1
    counter = WorkflowChord.objects.get()
    assert (counter.done, counter.size, counter.state) == (3, 3, "fired")


def test_retrying_the_failed_first_step_of_a_chain_in_a_chords_header_runs_the_body(worker):
    from jobs.ledger.operations import job_retry

    header = [chain(fails_until_allowed.s(1), add.s(1)), add.s(5, 5)]
    result = chord(header)(collect.s())
    with pytest.raises(TaskRevokedError, match="not allowed yet"):
        AsyncResult(result.id).get(timeout=30)
    failed = Job.objects.get(task="testapp.fails_until_allowed")

    SideEffect.objects.create(key="allowed")
    job_retry(job_id=str(failed.id))

    assert AsyncResult(result.id).get(timeout=30) == [2, 10]
    assert SideEffect.objects.filter(key="collect").count() == 1


def test_the_admins_retry_button_on_a_failed_step_resumes_its_chain(worker, admin_client):
    result = chain(fails_until_allowed.s(1), add.s(2)).apply_async()
    with pytest.raises(TaskRevokedError):
        AsyncResult(result.id).get(timeout=30)
    failed = Job.objects.get(task="testapp.fails_until_allowed")

    SideEffect.objects.create(key="allowed")
    admin_client.post(f"/admin/jobs/job/{failed.id}/operate/retry/")

    assert AsyncResult(result.id).get(timeout=30) == 3
    assert SideEffect.objects.filter(key="add").count() == 1


@pytest.mark.django_db(transaction=False)
def test_a_chords_counter_is_recounted_when_its_header_jobs_are_retried():
    from jobs import run_enqueued_jobs
    from jobs.ledger.operations import job_retry

    result = chord([add.s(1, 1), fails_until_allowed.s(5)])(collect.s())
    run_enqueued_jobs()
    completed = Job.objects.get(task="testapp.add")
    failed = Job.objects.get(task="testapp.fails_until_allowed")
    assert Job.objects.get(id=result.id).status == JobStatus.CANCELLED

    # The header job that completed runs again: counted once, not twice.
    job_retry(job_id=str(completed.id))
    run_enqueued_jobs()
    counter = WorkflowChord.objects.get()
    assert (counter.done, counter.state) == (1, "failed")

    SideEffect.objects.create(key="allowed")
    job_retry(job_id=str(failed.id))
    assert Job.objects.filter(id=result.id).first() is None  # the body's placeholder is gone
    run_enqueued_jobs()

    assert Job.objects.get(id=result.id).result == [2, 5]
    assert SideEffect.objects.filter(key="collect").count() == 1
    counter.refresh_from_db()
    assert (counter.done, counter.size, counter.state) == (2, 2, "fired")


def test_a_step_of_a_cancelled_workflow_is_not_retried(staff_api):
    result = chain(add.s(1, 2), add.s(3)).apply_async(countdown=60)
    staff_api.post(f"/api/jobs/workflows/{result.id}/cancel")
    first = Job.objects.get(parent_id__isnull=True)

    answer = staff_api.post(f"/api/jobs/{first.id}/retry")

    assert answer.status_code == 409
    assert "which was cancelled" in json.dumps(answer.json())
    assert Job.objects.get(id=first.id).status == JobStatus.CANCELLED


def test_a_chord_that_continues_on_failure_runs_its_body_with_the_failed_slots_marked(
    worker, staff_api
):
    header = [add.s(1, 1), fails_until_allowed.s(5), add.s(2, 2)]
    result = chord(header)(collect.s(), continue_on_failure=True)

    values = AsyncResult(result.id).get(timeout=30)

    failed = Job.objects.get(task="testapp.fails_until_allowed")
    assert failed.status == JobStatus.FAILED
    marker = {"job_id": str(failed.id), "status": "failed", "error": failed.error}
    assert values == [2, marker, 4] and "not allowed yet" in failed.error
    assert SideEffect.objects.filter(key="collect").count() == 1
    assert WorkflowChord.objects.get().state == "fired"
    (shown,) = staff_api.get(f"/api/jobs/workflows/{result.id}").json()["chords"]
    assert shown["continue_on_failure"] is True and shown["done"] == 3


def test_a_chord_continuing_on_failure_counts_a_header_chain_that_never_ended(worker):
    header = [chain(fails_until_allowed.s(1), add.s(1)), add.s(5, 5)]
    result = chord(header, collect.s().set(continue_on_failure=True)).apply_async()

    values = AsyncResult(result.id).get(timeout=30)

    never_ran = Job.objects.get(task="testapp.add", args=[1])
    assert never_ran.status == JobStatus.CANCELLED
    marker = {"job_id": str(never_ran.id), "status": "cancelled", "error": never_ran.error}
    assert values[0] == marker
    assert values[1] == 10


# --- chords under faults and load -----------------------------------------------------------
def test_a_chord_runs_its_body_once_when_redis_restarts_empty_half_way(
    start_worker, tmp_path, request
):
    from tests.support.private_redis import PrivateRedis, broker_at
    from tests.support.processes import worker_env

    redis_server = PrivateRedis(tmp_path / "redis").start()
    request.addfinalizer(redis_server.stop)
    workers = [start_worker(env=worker_env(REDIS_URL=redis_server.url))]
    keys = [f"r{i}" for i in range(20)]
    with broker_at(redis_server.url):
        result = chord(record.s(key, 0.4) for key in keys)(collect.s())
        wait_for(lambda: SideEffect.objects.filter(key__in=keys).count() >= 3, timeout=40)

        redis_server.stop()  # its queued messages are lost
        time.sleep(2)
        redis_server.start()  # back, and empty: the ledger publishes its waiting jobs again

        def body_finished() -> bool:
            # kombu sometimes stops a worker on a Redis restart (README, "What the soak still
            # finds"); the process manager the README asks for starts it again, as here.
            if workers[-1].proc.poll() is not None:
                workers.append(
                    start_worker(f"w{len(workers) + 1}", env=worker_env(REDIS_URL=redis_server.url))
                )
            return _finished(result.id) is not None

        wait_for(body_finished, timeout=120)
        assert AsyncResult(result.id).get(timeout=10) == keys
    assert Job.objects.filter(task="testapp.collect").count() == 1
    assert SideEffect.objects.filter(key="collect").count() == 1
    assert SideEffect.objects.filter(key__in=keys).count() == 20  # each header job once
    counter = WorkflowChord.objects.get()
    assert (counter.done, counter.size, counter.state) == (20, 20, "fired")


def test_two_chords_racing_on_one_worker_pool_each_run_their_body_once(start_worker):
    start_worker(concurrency=3)
    first = chord(add.s(i, 0) for i in range(30))(collect.s())
    second = chord(add.s(i, 1000) for i in range(30))(collect.s())

    assert AsyncResult(first.id).get(timeout=120) == list(range(30))
    assert AsyncResult(second.id).get(timeout=120) == [i + 1000 for i in range(30)]
    bodies = Job.objects.filter(task="testapp.collect")
    assert bodies.count() == 2 and {str(b.id) for b in bodies} == {first.id, second.id}
    assert SideEffect.objects.filter(key="collect").count() == 2
    assert SideEffect.objects.filter(key="add").count() == 60
    assert [(c.done, c.size, c.state) for c in WorkflowChord.objects.all()] == [
        (30, 30, "fired")
    ] * 2


# --- the workflow's page and its cancellation through the API ---------------------------------
def test_the_api_shows_a_workflow_by_any_of_its_ids_with_its_steps_in_order(worker, staff_api):
    result = chain(add.s(1, 2), add.s(3), add.s(4)).apply_async()
    running = staff_api.get(f"/api/jobs/workflows/{result.id}")
    assert running.status_code == 200 and len(running.json()["steps"]) == 3

    AsyncResult(result.id).get(timeout=30)
    last = Job.objects.get(id=result.id)
    body = staff_api.get(f"/api/jobs/workflows/{last.workflow_id}").json()
    assert body["id"] == str(last.workflow_id) and body["status"] == "completed"
    assert [s["status"] for s in body["steps"]] == ["completed"] * 3
    assert body["steps"][-1]["id"] == result.id
    assert body["steps"][-1]["parent_id"] == body["steps"][1]["id"]
    assert body["started_at"] and body["finished_at"] and body["chords"] == []
    assert all(s["started_at"] and s["finished_at"] for s in body["steps"])

    job = staff_api.get(f"/api/jobs/{result.id}").json()
    assert job["workflow_id"] == body["id"] and job["parent_id"] == body["steps"][1]["id"]
    plain = add.delay(1, 1)
    assert staff_api.get(f"/api/jobs/{plain.id}").json()["workflow_id"] is None
    assert staff_api.get(f"/api/jobs/workflows/{plain.id}").status_code == 404


def test_cancelling_a_workflow_through_the_api_cancels_its_steps_not_yet_created(staff_api):
    result = chain(add.s(1, 2), add.s(3), add.s(4)).apply_async(countdown=60)

    answer = staff_api.post(f"/api/jobs/workflows/{result.id}/cancel")

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "cancelled" and body["cancelled_at"]
    assert [s["status"] for s in body["steps"]] == ["cancelled"] * 3
    assert Job.objects.filter(status=JobStatus.CANCELLED).count() == 3
    with pytest.raises(TaskRevokedError, match="workflow cancelled"):
        AsyncResult(result.id).get(timeout=5)
    assert staff_api.post(f"/api/jobs/workflows/{result.id}/cancel").status_code == 200


def test_retention_removes_a_workflows_record_once_its_jobs_are_gone():
    from datetime import timedelta

    from django.utils import timezone

    from jobs.ledger.retention import apply_retention

    gone = chain(add.s(1, 2), add.s(3)).apply_async(countdown=60)
    kept = chain(add.s(1, 2), add.s(3)).apply_async(countdown=60)
    gone_first = Job.objects.get(id=WorkflowStep.objects.get(id=gone.id).workflow_id)
    Job.objects.filter(id=gone_first.id).delete()
    Workflow.objects.update(created_at=timezone.now() - timedelta(days=30))

    assert apply_retention()["workflows"] >= 1

    assert not Workflow.objects.filter(id=gone_first.id).exists()
    assert not WorkflowStep.objects.filter(id=gone.id).exists()
    assert WorkflowStep.objects.filter(id=kept.id).exists()


@pytest.mark.django_db(transaction=False)
def test_run_enqueued_jobs_runs_a_chord_and_a_chain_in_process_through_the_ledger():
    from jobs import run_enqueued_jobs

    chained = chain(add.s(1, 2), add.s(3)).apply_async()
    chorded = chord(add.s(i, i) for i in range(3))(total.s())

    run_enqueued_jobs()

    assert Job.objects.get(id=chained.id).result == 6
    assert Job.objects.get(id=chorded.id).result == 6


@pytest.mark.django_db(transaction=False)
def test_a_next_step_whose_arguments_do_not_fit_fails_the_step_saying_why():
    from jobs import run_enqueued_jobs

    result = chain(add.s(1, 2), add.s(4, 5)).apply_async()  # add(3, 4, 5): one too many

    run_enqueued_jobs(include_delayed=True)

    first = Job.objects.get(parent_id__isnull=True, task="testapp.add")
    assert first.status == JobStatus.FAILED and "do not fit" in first.error
    following = Job.objects.get(id=result.id)
    assert following.status == JobStatus.CANCELLED and "do not fit" in following.error


def test_a_steps_admin_page_lists_its_workflow_and_cancels_it_after_confirming(admin_client):
    result = chain(add.s(1, 2), add.s(3), add.s(4)).apply_async(countdown=60)
    (first,) = Job.objects.all()
    page = admin_client.get(f"/admin/jobs/job/{first.id}/change/").content.decode()

    section = page.split('class="module aligned job-workflow"')[1].split("</fieldset>")[0]
    assert f"Workflow {first.id}: running" in section
    assert section.count('class="workflow-step') == 3 and "this-job" in section
    url = f"/admin/jobs/job/{first.id}/operate/cancel-workflow/"
    assert url in page

    asked = admin_client.get(url).content.decode()
    assert "Cancel this job&#x27;s whole workflow?" in asked
    assert Job.objects.get(id=first.id).status == JobStatus.DELAYED  # nothing yet
    admin_client.post(url, {"confirm": "yes"})

    assert Job.objects.get(id=first.id).status == JobStatus.CANCELLED
    assert Workflow.objects.get(id=first.id).cancelled_at is not None
    with pytest.raises(TaskRevokedError):
        AsyncResult(result.id).get(timeout=5)
    after = admin_client.get(f"/admin/jobs/job/{first.id}/change/").content.decode()
    assert ": cancelled</h2>" in after and url not in after
