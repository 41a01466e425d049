"""Procfile.examples: the examples deployed with each queue's documented concurrency (one
worker per queue, ``-c N``), parsed and checked against the declared example queues, as
``scripts/check_queues.py`` does in CI; each kind of drift is named; and two of its lines run
as real workers, holding as many jobs at once as their -c."""

import sys
from pathlib import Path

import pytest

from examples.queues import DOCUMENTED_CONCURRENCY, QUEUE_NAMES
from examples.tests.ledger import Job
from jobs import JobSpec, enqueue_many
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import check_queues  # noqa: E402

# The script's own view of the declarations (config.queues, which the examples' imports may
# not reach: it names every product's queues).
EXAMPLE_QUEUES = check_queues.EXAMPLE_QUEUES

PROCFILE = ROOT / "Procfile.examples"
# The numbers of the source documents, written out once more so that an edit of
# DOCUMENTED_CONCURRENCY alone cannot make the deployment drift from them unseen.
FROM_THE_DOCUMENTS = {
    "examples.jobs": 5,  # JobService {concurrency: 5}
    "examples.email": 5,  # e-commerce: Email Queue
    "examples.orders": 10,  # Order Queue
    "examples.payment-webhooks": 20,  # Payment Webhook Queue
    "examples.payment-retry": 3,  # Payment Retry Queue
    "examples.inventory": 8,  # Inventory Release Queue
    "examples.manual-review": 1,  # Manual Review Queue (admin-driven)
    "examples.token-refresh": 5,  # EVE Nomad: Token Refresh
    "examples.esi-refresh": 10,  # ESI Data Refresh
    "examples.historical-data": 3,  # Historical Data
    "examples.cache-cleanup": 1,  # Cache Cleanup
}


def workers(text: str) -> dict[str, tuple[int, list[str]]]:
    """Procfile process -> (its -c, its -Q list), for the celery workers."""
    found = {}
    for line in text.splitlines():
        process, _, command = line.partition(":")
        if line.startswith("#"):
            continue
        tokens = check_queues.command_tokens(command)
        if not check_queues.is_celery_worker(tokens):
            continue
        concurrency = check_queues.option(tokens, "-c", "--concurrency")
        found[process.strip()] = (int(concurrency or 0), check_queues.queue_list(tokens) or [])
    return found


def test_each_example_queue_has_a_worker_of_its_own_with_the_documented_concurrency():
    served = {
        queue: concurrency
        for concurrency, queues in workers(PROCFILE.read_text()).values()
        for queue in queues
    }

    assert served == FROM_THE_DOCUMENTS == DOCUMENTED_CONCURRENCY
    assert set(served) == set(QUEUE_NAMES) == {q.name for q in EXAMPLE_QUEUES}
    assert (
        check_queues.check_concurrency_procfile(
            PROCFILE.read_text(), EXAMPLE_QUEUES, DOCUMENTED_CONCURRENCY, PROCFILE.name
        )
        == []
    )


def test_drift_from_the_declarations_is_named():
    text = PROCFILE.read_text()
    check = lambda text: check_queues.check_concurrency_procfile(  # noqa: E731
        text, EXAMPLE_QUEUES, DOCUMENTED_CONCURRENCY, "Procfile.examples"
    )

    wrong_c = check(text.replace("-c 20 ", "-c 4 "))
    missing = check(
        "\n".join(line for line in text.splitlines() if "examples.manual-review" not in line)
    )
    twice = check(text + "extra: .venv/bin/celery -A config worker -c 5 -Q examples.email\n")
    unknown = check(text + "x: .venv/bin/celery -A config worker -c 1 -Q examples.nope\n")
    same_node = check(text.replace("-n examples-orders@%h", "-n examples-email@%h"))

    assert wrong_c == [
        "Procfile.examples: process 'examples-payment-webhooks' runs with -c 4; queue "
        "'examples.payment-webhooks' is documented with concurrency 20"
    ]
    assert len(missing) == 1 and "'examples.manual-review'" in missing[0]
    assert "served by 0 processes" in missing[0]
    assert len(twice) == 1 and "'examples.email'" in twice[0] and "2 processes" in twice[0]
    assert unknown == [
        "Procfile.examples: process 'x': -Q names queue 'examples.nope', which no app declares"
    ]
    assert len(same_node) == 1 and "share the node name 'examples-email@%h'" in same_node[0]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "process, jobs, at_once, seconds",
    [("examples-manual-review", 3, 1, 0.5), ("examples-email", 5, 5, 1.0)],
)
def test_a_procfile_line_runs_as_many_jobs_at_once_as_its_concurrency(
    start_worker, process, jobs, at_once, seconds
):
    concurrency, queues = workers(PROCFILE.read_text())[process]
    start_worker(name=process, queues=queues, concurrency=concurrency)

    enqueue_many(JobSpec(task="jobs.sleep", args=[seconds], queue=queues[0]) for _ in range(jobs))

    wait_for(lambda: Job.objects.filter(status="completed").count() == jobs, timeout=30)
    spans = list(Job.objects.values_list("started_at", "finished_at"))
    most = max(sum(1 for s, f in spans if s <= start < f) for start, _ in spans)
    assert most == at_once == concurrency
