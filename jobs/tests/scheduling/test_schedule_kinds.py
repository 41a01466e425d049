"""Schedules beyond five-field cron: six-field cron with seconds, ``every`` intervals,
``run_on_init`` at beat start-up, and the named presets."""

import json
import signal
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

import jobs
import jobs.tasks  # noqa: F401  (registers jobs.noop, which beat sends)
from config.celery import app as celery_app
from jobs.errors import InvalidInput
from jobs.models import Job, ScheduleFire, ScheduleOptions
from jobs.scheduling.cron import CronSpec, IntervalSpec, cron_preview, validate_cron_expression
from jobs.scheduling.declarations import Schedule, schedules_sync
from jobs.scheduling.operations import schedule_get_status, schedule_missed, scheduler_summary
from jobs.scheduling.scheduler import LedgerEntry, LedgerScheduler, init_fire_key
from tests.support.processes import start_beat
from tests.support.waiting import wait_for

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- six-field cron ----------------------------------------------------------------------
def test_six_field_cron_fires_at_its_seconds_inside_each_matching_minute():
    every_2_minutes = CronSpec("0 */2 * * * *")
    assert every_2_minutes.next_fires(at(1), 3) == [at(120), at(240), at(360)]

    every_15_seconds = CronSpec("*/15 * * * * *")
    assert every_15_seconds.next_fires(at(50), 3) == [at(60), at(75), at(90)]
    assert every_15_seconds.latest_fire(at(74)) == at(60)

    at_45 = CronSpec("45 * * * * *")
    assert at_45.latest_fire(at(30)) == at(-15)  # this minute's :45 is still to come
    assert at_45.latest_fire(at(45)) == at(45)


def test_five_and_six_field_forms_of_the_same_schedule_agree():
    five, six = CronSpec("*/2 * * * *"), CronSpec("0 */2 * * * *")
    assert five.next_fires(at(7), 10) == six.next_fires(at(7), 10)
    assert five.latest_fire(at(500)) == six.latest_fire(at(500))


def test_six_field_cron_keeps_the_dst_policy_of_its_minutes():
    # 02:30:10 does not exist in Berlin on 2026-03-29: shifted by the gap, seconds kept.
    spec = CronSpec("10 30 2 * * *", "Europe/Berlin")
    fire = spec.next_fires(datetime(2026, 3, 28, 12, tzinfo=UTC), 1)[0]
    assert fire == datetime(2026, 3, 29, 1, 30, 10, tzinfo=UTC)  # 03:30:10 CEST


def test_six_field_cron_is_validated_and_previewed():
    assert validate_cron_expression("0 */2 * * * *")
    assert not validate_cron_expression("60 * * * * *")
    assert not validate_cron_expression("1 2 3 4 5 6 7")
    with pytest.raises(InvalidInput) as raised:
        CronSpec("*/0 * * * * *")
    assert raised.value.field == "cron"
    preview = cron_preview(cron="30 0 3 * * *", n=2, after=T0)
    assert preview["next"] == ["2026-01-02T03:00:30+00:00", "2026-01-03T03:00:30+00:00"]


@pytest.mark.django_db
def test_beat_entry_fires_a_six_field_schedule_at_the_second():
    task = _cron_task("every-20s", "*/20 * * * * *", last_run_at=at(0.2))
    with time_machine.travel(at(19.5), tick=False):
        state = LedgerEntry(task, app=celery_app).is_due()
        assert not state.is_due and state.next == pytest.approx(0.5)
    with time_machine.travel(at(20.1), tick=False):
        entry = LedgerEntry(task, app=celery_app)
        state = entry.is_due()
        assert state.is_due and entry.due_slot == at(20)
        assert state.next == pytest.approx(19.9)  # the next slot, :40


# --- every (interval) ------------------------------------------------------------------------
def test_interval_slots_are_aligned_to_the_epoch():
    spec = IntervalSpec(timedelta(minutes=5))
    assert spec.next_fires(at(1), 3) == [at(300), at(600), at(900)]
    assert spec.next_fires(at(300), 1) == [at(600)]  # strictly after
    assert spec.latest_fire(at(299)) == at(0)
    assert spec.describe() == "Every 5 minutes"
    assert cron_preview(every=90, n=2, after=at(1))["next"] == [
        at(90).isoformat(),
        at(180).isoformat(),
    ]
    with pytest.raises(InvalidInput):
        IntervalSpec(0)


@pytest.mark.django_db
def test_beat_entry_fires_an_interval_schedule_once_for_its_latest_slot():
    task = _interval_task("poll", 30, last_run_at=at(-600))
    with time_machine.travel(at(45), tick=False):  # ten minutes down: fire once, for :30
        entry = LedgerEntry(task, app=celery_app)
        assert entry.is_due().is_due and entry.due_slot == at(30)
        assert not next(entry).is_due().is_due


@pytest.mark.django_db
def test_interval_schedule_reports_missed_runs_and_next_run(settings):
    settings.JOBS_SCHEDULE_MISS_GRACE = 60
    with time_machine.travel(at(-3600), tick=False):
        task = _interval_task("poll", 300)
    assert schedule_missed(task, at(70)) == at(0)
    ScheduleFire.objects.create(schedule="poll", slot=at(0), fired_at=at(1))
    assert schedule_missed(task, at(70)) is None

    with time_machine.travel(at(70), tick=False):
        row = next(j for j in scheduler_summary()["jobs"] if j["name"] == "poll")
    assert row["interval_seconds"] == 300 and row["next_run"] == at(300).isoformat()
    assert row["description"] == "Every 5 minutes" and row["cron"] is None


# --- declarations ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_sync_creates_every_six_field_and_run_on_init_schedules():
    outcome = schedules_sync(
        schedules=[
            Schedule(name="s.every", task="jobs.noop", every=timedelta(seconds=45)),
            Schedule(name="s.seconds", task="jobs.noop", cron="30 */2 * * * *"),
            Schedule(name="s.init", task="jobs.noop", cron=jobs.DAILY_3AM, run_on_init=True),
        ]
    )
    assert outcome["created"] == ["s.every", "s.seconds", "s.init"]
    every = PeriodicTask.objects.get(name="s.every")
    assert (every.interval.every, every.interval.period) == (45, "seconds")
    seconds = PeriodicTask.objects.get(name="s.seconds")
    assert seconds.crontab.minute == "*/2" and seconds.ledger_options.second == "30"
    assert schedule_get_status(name="s.seconds")["cron"] == "30 */2 * * * *"
    assert PeriodicTask.objects.get(name="s.init").ledger_options.run_on_init

    status = schedule_get_status(name="s.every", now=at(1))
    assert status["upcoming"][:2] == [at(45).isoformat(), at(90).isoformat()]


@pytest.mark.django_db
def test_schedule_declarations_need_exactly_one_of_cron_and_every():
    for bad in (
        Schedule(name="none", task="jobs.noop"),
        Schedule(name="both", task="jobs.noop", cron="* * * * *", every=60),
        Schedule(name="fraction", task="jobs.noop", every=1.5),
        Schedule(name="bad-second", task="jobs.noop", cron="61 * * * * *"),
    ):
        with pytest.raises(InvalidInput):
            schedules_sync(schedules=[bad])
    assert not PeriodicTask.objects.filter(name__in=["none", "both", "fraction"]).exists()


def test_presets_are_exported_and_valid_cron():
    assert (jobs.EVERY_MINUTE, jobs.EVERY_5_MINUTES, jobs.HOURLY) == (
        "* * * * *",
        "*/5 * * * *",
        "0 * * * *",
    )
    assert (jobs.DAILY_MIDNIGHT, jobs.DAILY_3AM, jobs.WEEKLY) == (
        "0 0 * * *",
        "0 3 * * *",
        "0 0 * * 1",
    )
    for name, expression in jobs.CRON_PRESETS.items():
        assert getattr(jobs, name) == expression and validate_cron_expression(expression)


# --- run_on_init -------------------------------------------------------------------------------
# Not inside a test transaction: django-celery-beat's scheduler closes "old" connections,
# which inside an atomic block would close the test's own.
@pytest.mark.django_db(transaction=True)
def test_run_on_init_fires_once_per_start_even_with_two_beats():
    init = _cron_task("nightly", "0 3 * * *")
    ScheduleOptions.objects.create(periodic_task=init, run_on_init=True)
    _cron_task("plain", "0 3 * * *")
    disabled = _cron_task("off", "0 3 * * *", enabled=False)
    ScheduleOptions.objects.create(periodic_task=disabled, run_on_init=True)

    first, second = _scheduler(), _scheduler()
    assert first.fire_on_init() == ["nightly"]
    assert second.fire_on_init() == []  # a second beat starting alongside
    fire = ScheduleFire.objects.get(schedule=init_fire_key("nightly"))
    assert Job.objects.filter(id=fire.job_id, task="jobs.noop").count() == 1
    init.refresh_from_db()
    assert init.total_run_count == 0  # the start-up fire leaves the schedule's slots alone

    # A later start (past the window) fires it again.
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2)):
        assert _scheduler().fire_on_init() == ["nightly"]
    assert ScheduleFire.objects.filter(schedule=init_fire_key("nightly")).count() == 2
    # Start-up fires never count as a schedule's own slot.
    assert not ScheduleFire.objects.filter(schedule="nightly").exists()


@pytest.mark.integration
def test_a_real_beat_fires_six_field_seconds_and_run_on_init(transactional_db, tmp_path):
    _cron_task("every-3s", "*/3 * * * * *")
    yearly = _cron_task("yearly", "0 0 1 1 *")
    ScheduleOptions.objects.create(periodic_task=yearly, run_on_init=True)

    beat = start_beat(tmp_path, "seconds")
    try:
        wait_for(lambda: ScheduleFire.objects.filter(schedule="every-3s").count() >= 3, 40)
        wait_for(lambda: ScheduleFire.objects.filter(schedule="yearly@init").exists(), 10)
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(15)
    slots = list(ScheduleFire.objects.filter(schedule="every-3s").values_list("slot", flat=True))
    assert all(slot.second % 3 == 0 and slot.microsecond == 0 for slot in slots)
    assert len(slots) == len(set(slots))
    assert ScheduleFire.objects.filter(schedule="yearly@init").count() == 1
    assert not ScheduleFire.objects.filter(schedule="yearly").exists()


# --- helpers -----------------------------------------------------------------------------------
def _cron_task(name: str, cron: str, **extra) -> PeriodicTask:
    parts = cron.split()
    second = parts.pop(0) if len(parts) == 6 else "0"
    minute, hour, dom, month, dow = parts
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=dom,
        month_of_year=month,
        day_of_week=dow,
        timezone="UTC",
    )
    task = PeriodicTask.objects.create(
        name=name, task="jobs.noop", crontab=crontab, kwargs=json.dumps({}), **extra
    )
    if second != "0":
        ScheduleOptions.objects.create(periodic_task=task, second=second)
    return task


def _interval_task(name: str, seconds: int, **extra) -> PeriodicTask:
    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
    return PeriodicTask.objects.create(name=name, task="jobs.noop", interval=interval, **extra)


def _scheduler() -> LedgerScheduler:
    scheduler = LedgerScheduler(app=celery_app, lazy=True)
    scheduler._initial_read = True
    return scheduler
