"""Arguments that do not fit a task's signature are refused at enqueue (Celery's ``typing``
check, which the ledger path used to skip): ``InvalidArguments`` naming the field "args" from
``.delay()`` / ``.apply_async()`` / ``enqueue_many``, and a 400 naming it from the API."""

import uuid

import pytest

from jobs import InvalidArguments, InvalidInput, JobSpec, enqueue_many
from jobs.ledger.enqueue import job_adopt
from jobs.ledger.models import Job
from jobs.tasks import noop, sleep
from tests.testapp.plain_tasks import add
from tests.testapp.tasks import record, untyped

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1.0, 2.0), {}),  # one positional too many
        ((), {"minutes": 1}),  # an unknown keyword
        ((1.0,), {"seconds": 1.0}),  # the same argument twice
    ],
    ids=["too many", "unknown keyword", "given twice"],
)
def test_delay_with_arguments_that_do_not_fit_is_refused_and_nothing_is_enqueued(args, kwargs):
    with pytest.raises(InvalidArguments) as refused:
        sleep.delay(*args, **kwargs)

    assert refused.value.field == "args" and refused.value.status == 400
    assert "the arguments do not fit task 'jobs.sleep'" in refused.value.message
    # Still what Celery's check raises, and the platform's bad-input error.
    assert isinstance(refused.value, TypeError) and isinstance(refused.value, InvalidInput)
    assert not Job.objects.exists()


def test_a_missing_argument_of_a_bound_task_is_refused_and_self_is_not_counted():
    with pytest.raises(InvalidArguments, match="missing 1 required positional argument: 'key'"):
        record.apply_async()

    record.apply_async(("k",), {"seconds": 0})
    assert Job.objects.count() == 1


def test_arguments_that_fit_are_stored_as_given():
    result = sleep.apply_async(kwargs={"seconds": 0.5})
    noop.delay(1, 2, anything="goes")  # *args, **kwargs take anything

    assert Job.objects.get(id=result.id).kwargs == {"seconds": 0.5}
    assert Job.objects.count() == 2


def test_a_task_declared_typing_false_is_not_checked():
    result = untyped.delay(1, 2, three=3)

    assert Job.objects.get(id=result.id).args == [1, 2]


def test_a_plain_celery_task_made_durable_is_checked_too():
    with pytest.raises(InvalidArguments, match="tests.testapp.plain_tasks.add"):
        add.delay(1)
    add.delay(1, 2)
    assert Job.objects.count() == 1


def test_enqueue_many_refuses_the_batch_when_one_job_does_not_fit():
    specs = [JobSpec(task="jobs.sleep", args=[0.1]), JobSpec(task="jobs.sleep", args=[1, 2])]

    with pytest.raises(InvalidArguments):
        enqueue_many(specs)

    assert not Job.objects.exists()


def test_an_adopted_message_is_recorded_as_it_arrived():
    # What another producer sent is recorded, so a bad call fails visibly when it runs.
    job_id = str(uuid.uuid4())

    assert job_adopt(JobSpec(task="jobs.sleep", args=[1, 2, 3]), job_id=job_id, defaults=sleep)
    assert Job.objects.get(id=job_id).args == [1, 2, 3]


def test_the_api_answers_400_naming_args(staff_api):
    response = staff_api.post(
        "/api/jobs/", {"task": "jobs.sleep", "kwargs": {"minutes": 1}}, format="json"
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert "the arguments do not fit task 'jobs.sleep'" in body["args"][0]
    assert not Job.objects.exists()


def test_the_bulk_api_refuses_all_when_one_job_does_not_fit(staff_api):
    jobs = [{"task": "jobs.sleep", "args": [0.1]}, {"task": "jobs.sleep", "args": [1, 2]}]

    response = staff_api.post("/api/jobs/bulk/", {"jobs": jobs}, format="json")

    assert response.status_code == 400, response.content
    errors = response.json()["jobs"]
    second = errors[1] if isinstance(errors, list) else errors["1"]
    assert "args" in second
    assert not Job.objects.exists()


def test_the_api_accepts_arguments_that_fit(staff_api):
    response = staff_api.post("/api/jobs/", {"task": "jobs.sleep", "args": [0.1]}, format="json")

    assert response.status_code == 201, response.content


# --- Celery's pydantic=True ------------------------------------------------------------------
def test_a_pydantic_task_s_model_is_stored_as_json_and_validated_back_when_it_runs():
    from jobs import run_enqueued_jobs
    from tests.testapp.tasks import SeatChoice, next_seat

    result = next_seat.delay(SeatChoice(row="A", number=1))

    job = Job.objects.get(id=result.id)
    assert job.args == [{"row": "A", "number": 1}]  # dumped at enqueue, as Celery dumps it
    assert run_enqueued_jobs().completed == 1
    job.refresh_from_db()
    assert job.result == {"row": "A", "number": 2}  # the body got a model, returned one


def test_a_pydantic_task_is_checked_against_its_own_signature():
    from tests.testapp.tasks import next_seat

    with pytest.raises(InvalidArguments, match="missing 1 required positional argument: 'seat'"):
        next_seat.delay()
