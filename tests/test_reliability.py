"""Fault injection: real workers, real Redis and PostgreSQL, and the failures they must survive.

Every job here is ``testapp.record``: it sleeps, then writes one ``SideEffect`` row, so a job
whose effect happened twice shows up as two rows for its key. Figures (recovery times,
deliveries, duplicates) go to var/test-logs/fault-figures.json and README's table.

``test_a_crash_between_a_jobs_effect_and_its_completion_does_not_repeat_the_effect`` pins
the one window where that could happen (a crash after the effect was written, before the
ledger says completed); atomic tasks commit both together, so it cannot.

Already covered elsewhere and not repeated: one job surviving a SIGKILL, Redis down at commit
for one job, a poison job failing after 3 crashes (jobs/tests/runtime/test_jobs_core.py); two
beat processes with an interval schedule (jobs/tests/scheduling/test_scheduling.py); parallel
seat locks (tickets/tests/test_concurrency.py) and parallel cascades for one slot
(waitlist/tests/test_constraints.py, waitlist/tests/test_integration.py).

Run alone with ``make test ARGS="-m faults"``.
"""

import re
import threading
import time
from collections import Counter
from uuid import UUID

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from jobs import JobSpec, enqueue_many
from jobs.models import Job, JobStatus
from tests.support.figures import record_figures
from tests.support.processes import start_beat, worker_env
from tests.support.waiting import wait_for
from tests.support.web_server import TcpProxy
from tests.testapp.models import ChaosEffect, SideEffect
from tests.testapp.tasks import record

pytestmark = pytest.mark.faults


def enqueue_records(count: int, seconds: float, prefix: str = "job") -> list[str]:
    """``count`` record jobs in one committed INSERT; their keys."""
    keys = [f"{prefix}-{i}" for i in range(count)]
    enqueue_many(JobSpec(task="testapp.record", args=[key, seconds]) for key in keys)
    return keys


def dispatcher_running() -> None:
    """Wait for a worker's dispatcher to have marked this (fresh, flushed) Redis with its
    epoch. Before that, its first sweep takes the missing epoch for lost broker data and
    publishes every waiting job a second time: harmless (the start guard runs each once)
    but it would show up here as redelivered messages."""
    from jobs.ledger.broker import EPOCH_KEY, redis_client

    wait_for(lambda: redis_client().exists(EPOCH_KEY), timeout=15)


def completed() -> int:
    return Job.objects.filter(status=JobStatus.COMPLETED).count()


def effects_per_key() -> Counter:
    return Counter(
        dict(SideEffect.objects.values_list("key").annotate(n=Count("id")).values_list("key", "n"))
    )


def assert_every_effect_exactly_once(keys: list[str]) -> None:
    effects = effects_per_key()
    missing = [k for k in keys if effects[k] == 0]
    twice = {k: n for k, n in effects.items() if n > 1}
    assert not missing, f"{len(missing)} job(s) without effect, e.g. {missing[:5]}"
    if twice:
        rerun = dict(
            Job.objects.filter(args__0__in=list(twice)).values_list("args__0", "crash_count")
        )
        raise AssertionError(
            f"{len(twice)} effect(s) happened more than once: {twice}; crash_count of their "
            f"jobs: {rerun}. A job re-run after a crash between its effect and its completion "
            "is the window pinned by test_a_crash_between_a_jobs_effect_and_its_completion_..."
        )
    assert sum(effects.values()) == len(keys)


def terminate_other_backends() -> int:
    """pg_terminate_backend on every other connection to this test database: only the worker
    processes started by this test connect to it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def effect_to_completion_ms() -> dict:
    """How long a job's effect is committed before its ledger row says completed: a SIGKILL
    in that window re-runs a job whose effect already happened (at-least-once)."""
    from statistics import median, quantiles

    ends = dict(Job.objects.values_list("id", "finished_at"))
    gaps = [
        (ends[UUID(job_id)] - created).total_seconds() * 1000
        for job_id, created in SideEffect.objects.values_list("job_id", "created_at")
    ]
    return {"p50": round(median(gaps), 2), "p99": round(quantiles(gaps, n=100)[98], 2)}


# --- 1. SIGKILL under load -------------------------------------------------------------------
@pytest.mark.integration
def test_sigkill_of_the_worker_under_1000_jobs_loses_nothing_and_duplicates_nothing(
    start_worker,
):
    # Given a worker (two pool processes) draining 1,000 short jobs
    doomed = start_worker("doomed", queues=["default"], concurrency=2)
    dispatcher_running()
    keys = enqueue_records(1000, seconds=0.02)

    # When it is SIGKILLed (main and pool processes) a third of the way through
    wait_for(lambda: completed() >= 333, timeout=120, interval=0.01)
    doomed.kill()
    killed_at = time.monotonic()
    done_at_kill = completed()
    running_at_kill = set(Job.objects.filter(status=JobStatus.ACTIVE).values_list("id", flat=True))
    start_worker("rescuer", queues=["default"], concurrency=2)

    # Then every job completes, each effect exactly once
    wait_for(lambda: completed() == 1000, timeout=180, interval=0.1)
    recovery = time.monotonic() - killed_at
    assert not Job.objects.exclude(status=JobStatus.COMPLETED).exists()
    assert_every_effect_exactly_once(keys)
    rerun = Job.objects.filter(id__in=running_at_kill)
    assert all(job.crash_count == 1 and job.attempts == 2 for job in rerun)
    assert not Job.objects.exclude(id__in=running_at_kill).filter(attempts__gt=1).exists()
    record_figures(
        "sigkill_1000_jobs",
        effect_to_ledger_completion_ms=effect_to_completion_ms(),
        completed_before_kill=done_at_kill,
        running_at_kill=len(running_at_kill),
        recovery_seconds=round(recovery, 1),
        jobs_lost=1000 - completed(),
        duplicate_effects=sum(n - 1 for n in effects_per_key().values() if n > 1),
    )


@pytest.mark.integration
def test_a_crash_between_a_jobs_effect_and_its_completion_does_not_repeat_the_effect(
    start_worker,
):
    """Pins the window the SIGKILL test above can only hit by chance (p50 about 1 ms of every
    job): the job's effect is written, its completion is not yet committed. An atomic task
    (testapp.record) commits both together, so the crash takes the effect with it."""
    # Given a job whose completion is held back (the test holds the job's row lock, so the
    # worker's completing UPDATE waits, with the effect written in the same transaction)
    doomed = start_worker("doomed", queues=["default"], concurrency=1)
    result = record.delay("window", 0.5)
    wait_for(lambda: Job.objects.filter(id=result.id, status=JobStatus.ACTIVE).exists())
    with transaction.atomic():
        Job.objects.select_for_update().get(id=result.id)
        wait_for(lambda: waiting_on_a_lock() >= 1)

        # When the worker dies right there (SIGKILL; its open transaction dies with it)
        doomed.kill()
        terminate_other_backends()
    start_worker("rescuer", queues=["default"], concurrency=1)
    job = wait_for(
        lambda: Job.objects.filter(id=result.id, status=JobStatus.COMPLETED).first(), timeout=60
    )

    # Then the job is run again from the start and its effect happened exactly once
    assert job.attempts == 2 and job.crash_count == 1
    assert effects_per_key()["window"] == 1


@pytest.mark.integration
@pytest.mark.parametrize("task", ["testapp.chaos_plain", "testapp.record"], ids=["plain", "atomic"])
def test_a_claim_lost_in_a_database_crash_is_fenced_off_and_the_job_runs_again(start_worker, task):
    """A worker's claim commits without waiting for the disk (jobs.ledger.sql
    CLAIM_ASYNC_COMMIT): a PostgreSQL crash can forget it while the job runs. The shared
    server cannot be crashed here, so the row is put back exactly as a lost claim leaves it:
    waiting, the attempt uncounted, no worker. The stale-waiting sweep is pushed out of the
    way (it would find the job only once its queue is empty, after JOBS_REPUBLISH_AFTER)."""
    # Given a job running on a worker
    start_worker(
        "claimer", queues=["default"], concurrency=1, env=worker_env(JOBS_REPUBLISH_AFTER=3600)
    )
    dispatcher_running()
    [job] = enqueue_many([JobSpec(task=task, args=["lost-claim", 1.5])])
    wait_for(lambda: Job.objects.filter(id=job.id, status=JobStatus.ACTIVE).exists(), timeout=30)

    # When its claim is lost
    lost = Job.objects.filter(id=job.id, status=JobStatus.ACTIVE, attempts=1).update(
        status=JobStatus.WAITING, attempts=0, worker="", started_at=None
    )
    assert lost == 1

    # Then the attempt's finish is refused, and the job is published and run again
    done = wait_for(
        lambda: Job.objects.filter(id=job.id, status=JobStatus.COMPLETED).first(), timeout=30
    )
    assert done.attempts == 1  # the lost claim left no count behind, the rerun counted once
    assert done.crash_count == 0 and done.error == ""
    if task == "testapp.chaos_plain":
        runs = list(ChaosEffect.objects.filter(job_id=str(job.id)).order_by("created_at"))
        assert [run.attempt for run in runs] == [1, 1]  # at-least-once: it ran twice
        assert done.finished_at > runs[1].created_at  # completed by the second run
    else:
        assert effects_per_key()["lost-claim"] == 1  # the refused finish took its effect back


# --- 2. SIGTERM with jobs in flight ------------------------------------------------------------
def task_log(worker, outcome: str) -> set[str]:
    """Ids of testapp.record tasks the worker logged as received / succeeded / ignored."""
    return set(re.findall(rf"Task testapp\.record\[([0-9a-f-]{{36}})\] {outcome}", worker.log()))


@pytest.mark.integration
def test_sigterm_finishes_the_jobs_in_flight_and_none_runs_again(start_worker):
    # Given a worker busy with 100 short jobs
    first = start_worker("deploy-old", queues=["default"], concurrency=2)
    dispatcher_running()
    keys = enqueue_records(100, seconds=0.1)
    wait_for(lambda: completed() >= 20, timeout=60, interval=0.01)

    # When it gets SIGTERM (a deploy's warm shutdown), and a new worker takes over
    stopping = time.monotonic()
    assert first.stop(timeout=90) == 0  # a warm shutdown, not killed
    shutdown_seconds = time.monotonic() - stopping
    assert not Job.objects.filter(status=JobStatus.ACTIVE).exists()  # it finished its jobs
    finished_by_first = {
        str(i) for i in Job.objects.filter(status=JobStatus.COMPLETED).values_list("id", flat=True)
    }
    second = start_worker("deploy-new", queues=["default"], concurrency=2)
    wait_for(lambda: completed() == 100, timeout=90, interval=0.05)

    # Then every job ran exactly once: one attempt, one effect
    assert_every_effect_exactly_once(keys)
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}
    assert not Job.objects.filter(crash_count__gt=0).exists()
    # Stock Celery does not ack a late-acked task that finishes during the warm shutdown
    # (celery/celery#3802): its message goes back to Redis and reaches the new worker. The
    # start guard refuses it: such a message is ignored, never run.
    time.sleep(1)
    delivered_again = task_log(second, "received") & finished_by_first
    assert delivered_again <= task_log(second, "ignored")
    assert not delivered_again & task_log(second, "succeeded")
    record_figures(
        "sigterm_100_jobs",
        finished_before_shutdown=len(finished_by_first),
        warm_shutdown_seconds=round(shutdown_seconds, 1),
        messages_delivered_again_and_ignored=len(delivered_again),
        jobs_run_twice=0,
    )


# --- 3 and 4. Redis lost -----------------------------------------------------------------------
@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own (worker and test process both use it)."""
    from tests.support.private_redis import PrivateRedis

    server = PrivateRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.mark.integration
def test_500_jobs_committed_while_redis_is_down_all_run_once_after_it_restarts_empty(
    start_worker, private_redis
):
    from tests.support.private_redis import broker_at

    start_worker(queues=["default"], concurrency=2, env=worker_env(REDIS_URL=private_redis.url))
    with broker_at(private_redis.url):
        # Given Redis is down
        private_redis.stop()

        # When 500 jobs are enqueued in committed transactions (10 of 50): no caller sees an
        # error, and every job waits in the ledger
        keys = []
        for batch in range(10):
            with transaction.atomic():
                for i in range(50):
                    keys.append(f"down-{batch}-{i}")
                    record.delay(keys[-1])
        assert Job.objects.filter(status=JobStatus.WAITING).count() == 500

        # ... and Redis comes back empty (a crash without persistence)
        private_redis.start()
        restarted_at = time.monotonic()

        # Then all 500 run, once each
        wait_for(lambda: completed() == 500, timeout=120, interval=0.1)
        drained = time.monotonic() - restarted_at
    assert_every_effect_exactly_once(keys)
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}
    record_figures(
        "redis_down_500_jobs",
        seconds_from_redis_restart_to_all_done=round(drained, 1),
        jobs_lost=500 - completed(),
        duplicate_effects=0,
    )


@pytest.mark.integration
def test_idle_workers_reconnect_after_a_redis_restart_and_the_next_job_runs_within_30s(
    start_worker, private_redis
):
    from tests.support.private_redis import broker_at

    worker = start_worker(concurrency=2, env=worker_env(REDIS_URL=private_redis.url))
    with broker_at(private_redis.url):
        record.delay("before").get(timeout=30)

        # Given idle workers whose Redis restarts empty
        private_redis.stop()
        wait_for(lambda: "Connection to broker lost" in worker.log(), timeout=30)
        private_redis.start()
        restarted_at = time.monotonic()

        # When the next job is enqueued
        result = record.delay("after")

        # Then it runs within 30 s
        result.get(timeout=30)
        ran_after = time.monotonic() - restarted_at
    assert ran_after < 30
    assert effects_per_key() == Counter({"before": 1, "after": 1})
    record_figures("redis_restart_idle", seconds_to_next_job_done=round(ran_after, 1))


@pytest.mark.integration
@pytest.mark.parametrize("celery_cancels", [False, True], ids=["finishes", "celery-cancels"])
def test_a_lost_broker_connection_under_a_running_job_neither_cancels_it_nor_spends_an_attempt(
    start_worker, private_redis, celery_cancels
):
    from tests.support.private_redis import broker_at

    worker = start_worker(
        concurrency=2,
        env=worker_env(
            REDIS_URL=private_redis.url,
            CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS=str(celery_cancels),
        ),
    )
    with broker_at(private_redis.url):
        # Given a job running when the worker loses its Redis connection (by default the job
        # finishes; with worker_cancel_long_running_tasks_on_connection_loss Celery
        # terminates it, and the job runs again)
        job = record.delay("through-the-restart", 4.0)
        wait_for(lambda: Job.objects.filter(id=job.id, status=JobStatus.ACTIVE).exists())
        time.sleep(1)  # the worker's main process has accepted it
        redis.Redis.from_url(private_redis.url).client_kill_filter(_type="normal", skipme=True)
        wait_for(lambda: "Connection to broker lost" in worker.log(), timeout=30)

        # Then the job is not cancelled: it runs again and completes, on its first attempt
        wait_for(
            lambda: Job.objects.get(id=job.id).status not in (JobStatus.ACTIVE, JobStatus.WAITING),
            timeout=60,
        )
    finished = Job.objects.get(id=job.id)
    assert (finished.status, finished.attempts, finished.crash_count) == (
        JobStatus.COMPLETED,
        1,
        0,
    ), finished.error
    assert effects_per_key()["through-the-restart"] == 1  # atomic: the cancelled run rolled back
    if celery_cancels:
        assert "Terminating it instead" in worker.log()


# --- 5. Poison job -----------------------------------------------------------------------------
@pytest.mark.integration
def test_poison_job_fails_after_the_configured_deliveries_while_other_jobs_keep_flowing(
    start_worker,
):
    from tests.testapp.tasks import crash

    # Given a worker configured to quarantine a job after 3 crashes
    start_worker(queues=["default"], concurrency=2, env=worker_env(JOBS_POISON_THRESHOLD=3))

    # When a job that kills its pool process every time is enqueued among healthy jobs
    poison = crash.delay()
    started_at = time.monotonic()
    keys = []
    while not Job.objects.filter(id=poison.id, status=JobStatus.FAILED).exists():
        assert time.monotonic() - started_at < 90, "poison job never failed"
        keys += enqueue_records(5, seconds=0.05, prefix=f"healthy-{len(keys)}")
        time.sleep(0.25)
    failed_after = time.monotonic() - started_at
    job = Job.objects.get(id=poison.id)

    # Then it is failed after exactly 3 deliveries (not its 10 attempts), and healthy jobs
    # completed while it was crashing, not only after
    assert job.crash_count == 3 and job.attempts == 3
    assert "poison job" in job.error
    during = Job.objects.filter(
        task="testapp.record",
        status=JobStatus.COMPLETED,
        finished_at__gt=job.created_at,
        finished_at__lt=job.finished_at,
    ).count()
    assert during >= 5
    wait_for(lambda: completed() == len(keys), timeout=60)
    assert_every_effect_exactly_once(keys)
    record_figures(
        "poison_job",
        deliveries_before_failed=job.attempts,
        seconds_to_quarantine=round(failed_after, 1),
        healthy_jobs_completed_meanwhile=during,
    )


# --- 6. Two beat processes ---------------------------------------------------------------------
# Six-field (seconds) crons give a minute of two racing beats as many slots as an hour of
# minute crons would give a few; the slot arithmetic is the same.
BEAT_SECONDS = 60


@pytest.mark.integration
@pytest.mark.slow
def test_two_beat_processes_for_a_minute_fire_every_cron_slot_exactly_once(start_worker, tmp_path):
    import json
    import signal
    from datetime import UTC, datetime, timedelta

    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from jobs.models import ScheduleFire, ScheduleOptions
    from tests.support.processes import start_beat

    # Given two cron schedules with seconds and two beat processes started by mistake
    crons = {"rel-every-5-seconds": 5, "rel-every-15-seconds": 15}
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="*", hour="*", day_of_month="*", month_of_year="*", day_of_week="*", timezone="UTC"
    )
    for name, every in crons.items():
        task = PeriodicTask.objects.create(
            name=name, task="testapp.record", crontab=crontab, kwargs=json.dumps({"key": name})
        )
        ScheduleOptions.objects.create(periodic_task=task, second=f"*/{every}")
    start_worker(queues=["default"], concurrency=1)
    beats = [start_beat(tmp_path, "a"), start_beat(tmp_path, "b")]
    started = datetime.now(UTC)

    # When they both run for a minute
    try:
        deadline = time.monotonic() + BEAT_SECONDS
        while time.monotonic() < deadline:
            assert all(beat.poll() is None for beat in beats), "a beat process died"
            time.sleep(1)
    finally:
        for beat in beats:
            beat.send_signal(signal.SIGTERM)
            beat.wait(15)
    ended = datetime.now(UTC)

    # Then each schedule fired once for every slot of its cron in that time: one fire, one
    # ledger job, one effect per slot
    wait_for(lambda: completed() == ScheduleFire.objects.count(), timeout=30)
    # The window opens at the first slot either beat fired (or 10 s after the start): how
    # long a beat takes to start says nothing of exactly-once, and a loaded machine can take
    # longer than that; it closes 5 s before the end (fired by then).
    first_fire = ScheduleFire.objects.order_by("slot").values_list("slot", flat=True).first()
    opens = max(started + timedelta(seconds=10), first_fire or started)

    def slots(every: int) -> list[datetime]:
        second = opens.replace(microsecond=0)
        found = []
        while second <= ended - timedelta(seconds=5):
            if second.second % every == 0:
                found.append(second)
            second += timedelta(seconds=1)
        return found

    fires = {}
    for name, every in crons.items():
        fired = list(ScheduleFire.objects.filter(schedule=name).values_list("slot", flat=True))
        assert len(fired) == len(set(fired))
        assert set(slots(every)) <= set(fired), (name, slots(every), fired)
        assert Job.objects.filter(task="testapp.record", kwargs__key=name).count() == len(fired)
        assert effects_per_key()[name] == len(fired)
        fires[name] = len(fired)
    assert fires["rel-every-5-seconds"] >= (BEAT_SECONDS - 15) // 5
    schedulers = {f.scheduler for f in ScheduleFire.objects.all()}
    assert schedulers  # which beat fired each slot is recorded
    jobs = Counter(Job.objects.filter(task="testapp.record").values_list("kwargs__key", flat=True))
    record_figures(
        "two_beats_1_minute",
        slots_fired=fires,
        ledger_jobs=dict(jobs),
        jobs_per_slot=max(jobs[name] / fires[name] for name in fires),
        beats_that_won_a_slot=len(schedulers),
    )


# --- 7. PostgreSQL connections dropped -------------------------------------------------------


@pytest.mark.integration
def test_dropped_database_connections_mid_job_leave_a_consistent_ledger(start_worker):
    # Given a worker running two jobs, with two more waiting
    start_worker(queues=["default"], concurrency=2)
    keys = enqueue_records(4, seconds=2.5, prefix="pg")
    wait_for(lambda: Job.objects.filter(status=JobStatus.ACTIVE).count() == 2, timeout=30)
    running = set(Job.objects.filter(status=JobStatus.ACTIVE).values_list("id", flat=True))

    # When PostgreSQL drops every connection of the worker (pool and main processes)
    terminated = terminate_other_backends()
    assert terminated >= 2

    # Then every job completes, its effect once: the two whose connection died under them
    # were requeued without spending an attempt (the database, not the job, failed)
    wait_for(
        lambda: not Job.objects.exclude(status=JobStatus.COMPLETED).exists(),
        timeout=60,
    )
    effects = effects_per_key()
    assert {key: effects.get(key) for key in keys} == dict.fromkeys(keys, 1)
    assert {job.attempts for job in Job.objects.all()} == {1}
    requeued = Job.objects.filter(id__in=running, error__contains="attempt not counted")
    assert requeued.count() >= 1, list(Job.objects.values_list("error", flat=True))

    # ... nothing is left active for the reaper, and the worker still takes new work
    assert not Job.objects.filter(status=JobStatus.ACTIVE).exists()
    record.delay("after-the-drop").get(timeout=30)
    assert effects_per_key()["after-the-drop"] == 1
    record_figures(
        "postgres_connections_dropped",
        backends_terminated=terminated,
        running_jobs_outcome=sorted(
            Job.objects.filter(id__in=running).values_list("status", flat=True)
        ),
        running_jobs_attempts=sorted(
            Job.objects.filter(id__in=running).values_list("attempts", flat=True)
        ),
        stuck_active=0,
        duplicate_effects=0,
    )


@pytest.mark.integration
def test_jobs_arriving_after_idle_workers_lost_their_database_connections_all_run(
    start_worker,
):
    # Given an idle worker whose pool processes have both used their database connection
    start_worker(queues=["default"], concurrency=2)
    keys = enqueue_records(4, seconds=0.3, prefix="warm")
    wait_for(lambda: completed() == 4, timeout=30)

    # When PostgreSQL drops every connection of the worker while it is idle, and jobs
    # arrive after the worker's cached queue settings (rate limits) are due for a re-read
    assert terminate_other_backends() >= 2
    time.sleep(2.5)
    keys += enqueue_records(6, seconds=0, prefix="after")

    # Then every job runs once: the first statement on a dropped connection reconnects,
    # wherever in a job's start it comes (it once failed the job's message and left the
    # pool process on a closed connection, failing every job after it)
    wait_for(lambda: completed() == 10, timeout=30)
    assert_every_effect_exactly_once(keys)
    assert {job.attempts for job in Job.objects.all()} == {1}


@pytest.mark.integration
def test_a_database_outage_under_busy_workers_loses_nothing_and_spends_no_attempt(
    start_worker, worker_mailbox, tmp_path
):
    # Given a worker and beat that reach PostgreSQL through a proxy the test can cut, two
    # jobs running and four waiting
    db = settings.DATABASES["default"]
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    env = worker_env(
        DATABASE_URL=(
            f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@127.0.0.1:{proxy.port}/"
            f"{connection.settings_dict['NAME']}"
        ),
        EMAIL_URL=f"filemail:///{worker_mailbox.directory}",
    )
    worker = start_worker(queues=["default"], concurrency=2, env=env)
    beat = start_beat(tmp_path, "outage", env=env)
    dispatcher_running()
    keys = enqueue_records(6, seconds=1.0, prefix="before")
    wait_for(lambda: Job.objects.filter(status=JobStatus.ACTIVE).count() == 2, timeout=30)

    # When PostgreSQL is unreachable for longer than the heartbeat timeout, while more jobs
    # are enqueued (this process still reaches it) and their messages reach the worker
    try:
        proxy.cut()
        keys += enqueue_records(4, seconds=0.1, prefix="during")
        time.sleep(8)
        assert worker.proc.poll() is None and beat.poll() is None  # both wait
    finally:
        proxy.restore()

    # Then every job completes once, none spent an attempt on the outage, and nothing was
    # rescued as if its worker had died
    try:
        wait_for(lambda: not Job.objects.exclude(status=JobStatus.COMPLETED).exists(), timeout=90)
        assert_every_effect_exactly_once(keys)
        assert set(Job.objects.values_list("attempts", "crash_count")) == {(1, 0)}
        time.sleep(2)
        assert beat.poll() is None  # beat goes on after the outage
    finally:
        beat.terminate()
        beat.wait(15)
        proxy.cut()


# --- 8. Concurrency: one job_key, many enqueuers ------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_parallel_duplicate_enqueues_with_one_job_key_create_exactly_one_live_job():
    from jobs.tasks import noop

    # Given 16 callers, each on its own database connection, released at the same instant
    parallel = 16
    barrier = threading.Barrier(parallel)
    results: list = [None] * parallel

    def enqueue(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():  # each caller commits its own transaction
                results[index] = noop.apply_async(("dedupe",), job_key="order-42-reminder")
        except Exception as exc:  # reported below
            results[index] = exc
        finally:
            connection.close()

    # When they all enqueue the same job_key
    threads = [threading.Thread(target=enqueue, args=(i,)) for i in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # Then exactly one job exists, one caller created it and every caller got it back
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert Job.objects.filter(job_key="order-42-reminder").count() == 1
    assert sum(r.created for r in results) == 1
    assert {r.id for r in results} == {str(Job.objects.get(job_key="order-42-reminder").id)}
