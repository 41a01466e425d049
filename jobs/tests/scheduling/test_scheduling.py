"""Schedules: declared in code, edited in admin, right across DST, never fired twice."""

import json
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.celery import app as celery_app
from jobs.errors import InvalidInput
from jobs.models import Job, ScheduleFire
from jobs.scheduling.cron import CronSpec, cron_preview, validate_cron_expression
from jobs.scheduling.declarations import Schedule, declared_schedules, schedules_sync
from jobs.scheduling.operations import (
    ScheduleNotFound,
    schedule_missed,
    schedule_run_now,
    schedule_set_enabled,
    scheduler_summary,
)
from jobs.scheduling.scheduler import LedgerEntry
from tests.support.processes import start_beat
from tests.support.waiting import wait_for

BERLIN_0230 = "30 2 * * *"


def berlin(*args, fold=0):
    """A Berlin wall time as a UTC instant (ambiguous wall times only compare in UTC)."""
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Berlin"), fold=fold).astimezone(UTC)


def periodic(name="nightly", cron=BERLIN_0230, tz="Europe/Berlin", task="jobs.noop", **extra):
    minute, hour, dom, month, dow = cron.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=dom,
        month_of_year=month,
        day_of_week=dow,
        timezone=tz,
    )
    return PeriodicTask.objects.create(name=name, task=task, crontab=crontab, **extra)


def test_spring_forward_fires_once_shifted_by_the_gap():
    spec = CronSpec(BERLIN_0230, "Europe/Berlin")
    fires = spec.next_fires(berlin(2026, 3, 28, 12, 0), 2)
    assert fires[0] == berlin(2026, 3, 29, 3, 30)  # 02:30 does not exist that night
    assert fires[1] == berlin(2026, 3, 30, 2, 30)


def test_fall_back_fires_once_at_the_first_occurrence():
    spec = CronSpec(BERLIN_0230, "Europe/Berlin")
    fires = spec.next_fires(berlin(2026, 10, 24, 12, 0), 2)
    assert fires[0] == berlin(2026, 10, 25, 2, 30, fold=0)  # CEST, the first 02:30
    assert fires[1] == berlin(2026, 10, 26, 2, 30)
    assert (fires[1] - fires[0]) == timedelta(hours=25)


@pytest.mark.django_db
def test_beat_entry_fires_at_the_right_instants_across_dst():
    task = periodic(last_run_at=datetime(2026, 3, 28, 12, tzinfo=UTC))
    with time_machine.travel(berlin(2026, 3, 29, 3, 29), tick=False):
        assert not LedgerEntry(task, app=celery_app).is_due().is_due
    with time_machine.travel(berlin(2026, 3, 29, 3, 30, 1), tick=False):
        entry = LedgerEntry(task, app=celery_app)
        assert entry.is_due().is_due and entry.due_slot == berlin(2026, 3, 29, 3, 30)

    task.last_run_at = berlin(2026, 10, 25, 2, 30, 5, fold=0)  # fired at the first 02:30
    with time_machine.travel(berlin(2026, 10, 25, 2, 31, fold=1), tick=False):
        state = LedgerEntry(task, app=celery_app).is_due()  # the repeated 02:30 has passed
        assert not state.is_due
        assert state.next > 20 * 3600  # next fire is the following night


@pytest.mark.django_db
def test_after_downtime_a_schedule_fires_once_for_the_latest_slot():
    task = periodic(cron="* * * * *", tz="UTC", last_run_at=datetime(2026, 1, 1, 9, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC), tick=False):
        entry = LedgerEntry(task, app=celery_app)
        state = entry.is_due()
        assert state.is_due and entry.due_slot == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
        assert not next(entry).is_due().is_due  # not once per missed minute


@pytest.mark.django_db
def test_missed_slot_is_reported_until_a_fire_is_recorded(settings):
    settings.JOBS_SCHEDULE_MISS_GRACE = 60
    with time_machine.travel(datetime(2026, 1, 1, 9, tzinfo=UTC), tick=False):
        task = periodic(cron="*/5 * * * *", tz="UTC")
    now = datetime(2026, 1, 1, 10, 2, tzinfo=UTC)
    assert schedule_missed(task, now) == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    ScheduleFire.objects.create(
        schedule=task.name, slot=datetime(2026, 1, 1, 10, tzinfo=UTC), fired_at=now
    )
    assert schedule_missed(task, now) is None


@pytest.mark.django_db
def test_summary_start_stop_and_run_now():
    periodic(name="a", cron="0 * * * *", tz="UTC")
    periodic(name="b", cron="*/2 * * * *", tz="America/New_York", enabled=False)
    summary = scheduler_summary()
    assert (summary["total"], summary["running"], summary["stopped"]) == (2, 1, 1)
    by_name = {j["name"]: j for j in summary["jobs"]}
    assert by_name["a"]["next_run"] and by_name["b"]["next_run"] is None
    assert "hour" in by_name["a"]["description"].lower()

    assert schedule_set_enabled(name="b", enabled=True)["running"] is True
    assert scheduler_summary()["running"] == 2
    result = schedule_run_now(name="a")
    assert Job.objects.filter(id=result.id, task="jobs.noop").exists()
    with pytest.raises(ScheduleNotFound):
        schedule_set_enabled(name="nope", enabled=False)


def test_preview_and_validation():
    preview = cron_preview(
        cron="0 2 * * *", tz="Europe/Berlin", n=3, after=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert preview["next"][0] == "2026-01-01T02:00:00+01:00" and len(preview["next"]) == 3
    assert "02:00" in preview["description"]
    assert validate_cron_expression("*/15 * * * *")
    for bad, field in (("* * *", "cron"), ("60 * * * *", "cron")):
        assert not validate_cron_expression(bad)
        with pytest.raises(InvalidInput) as raised:
            cron_preview(cron=bad)
        assert raised.value.field == field
    with pytest.raises(InvalidInput) as raised:
        cron_preview(cron="* * * * *", tz="Mars/Olympus")
    assert raised.value.field == "tz"
    with pytest.raises(InvalidInput) as raised:
        cron_preview(cron="* * * * *", n=0)
    assert raised.value.field == "n"


@pytest.mark.django_db
def test_sync_creates_declared_schedules_and_keeps_admin_edits():
    declared = declared_schedules()
    names = {s.name for s in declared}
    assert {"jobs.maintenance-sweep", "jobs.retention", "jobs.alerts"} <= names
    schedules_sync()
    assert set(PeriodicTask.objects.values_list("name", flat=True)) >= names

    edited = PeriodicTask.objects.get(name="jobs.retention")
    edited.enabled = False
    edited.crontab = CrontabSchedule.objects.create(minute="15", hour="4", timezone="Asia/Tokyo")
    edited.save()
    outcome = schedules_sync()
    assert "jobs.retention" in outcome["kept"] and not outcome["created"]
    edited.refresh_from_db()
    assert not edited.enabled and edited.crontab.hour == "4"


@pytest.mark.django_db
def test_schedule_declarations_are_validated():
    with pytest.raises(InvalidInput) as raised:
        schedules_sync(schedules=[Schedule(name="bad", task="jobs.noop", cron="* *")])
    assert raised.value.field == "cron"


@pytest.mark.integration
def test_two_beat_processes_fire_each_slot_once_and_admin_edits_apply_live(start_worker, tmp_path):
    every_2s, _ = IntervalSchedule.objects.get_or_create(every=2, period="seconds")
    task = PeriodicTask.objects.create(
        name="tick", task="jobs.noop", interval=every_2s, kwargs=json.dumps({})
    )
    start_worker()
    beats = [start_beat(tmp_path, "a"), start_beat(tmp_path, "b")]
    try:
        wait_for(lambda: ScheduleFire.objects.filter(schedule="tick").count() >= 5, timeout=40)
        schedule_set_enabled(name="tick", enabled=False)  # as an operator in admin would
        time.sleep(7)  # beat re-reads changed schedules within its 5 s max loop interval
        stopped_at = ScheduleFire.objects.filter(schedule="tick").count()
        time.sleep(5)
        assert ScheduleFire.objects.filter(schedule="tick").count() == stopped_at
    finally:
        for beat in beats:
            beat.send_signal(signal.SIGTERM)
            beat.wait(15)
    fires = list(ScheduleFire.objects.filter(schedule="tick"))
    slots = [f.slot for f in fires]
    assert len(slots) == len(set(slots))
    assert {f.scheduler for f in fires}  # recorded which beat fired
    # One job per fired slot: the second beat sent nothing for a slot the first had taken.
    assert Job.objects.filter(task="jobs.noop").count() == len(fires)
    assert task.pk
