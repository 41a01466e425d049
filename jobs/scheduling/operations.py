"""Operating the schedules: summary, start/stop, run now, missed runs."""

import json
from datetime import UTC, datetime, timedelta

from celery import current_app
from django.db.models import Q
from django_celery_beat.models import PeriodicTask

from jobs.conf import jobs_settings
from jobs.runtime.registry import ledger_task
from jobs.scheduling.models import ScheduleFire
from jobs.scheduling.scheduler import cron_expression_of, options_of, schedule_spec_of

PLATFORM_TASKS_PREFIX = "celery."
RELATED = ("crontab", "interval", "clocked", "ledger_options")
UPCOMING_RUNS = 5


class ScheduleNotFound(Exception):
    pass


def _get(name: str) -> PeriodicTask:
    task = PeriodicTask.objects.select_related(*RELATED).filter(name=name).first()
    if task is None:
        raise ScheduleNotFound(name)
    return task


def _next_run(task: PeriodicTask, now: datetime) -> datetime | None:
    if not task.enabled:
        return None
    spec = schedule_spec_of(task)
    if spec is not None:
        fires = spec.next_fires(now, 1)
        return fires[0] if fires else None
    return None


def _unfired_candidate(task: PeriodicTask, now: datetime) -> datetime | None:
    """The latest slot that should have fired by now (grace period passed), if any."""
    spec = schedule_spec_of(task)
    if spec is None or not task.enabled:
        return None
    grace = timedelta(seconds=jobs_settings().schedule_miss_grace)
    slot = spec.latest_fire(now - grace)
    enabled_since = task.date_changed or now
    if slot is None or slot < enabled_since:
        return None
    return slot


def schedule_missed(task: PeriodicTask, now: datetime) -> datetime | None:
    """The latest slot that should have fired (grace period passed) but did not."""
    slot = _unfired_candidate(task, now)
    if slot is None:
        return None
    fired = ScheduleFire.objects.filter(schedule=task.name, slot=slot).exists()
    return None if fired else slot


def _missed_slots(tasks: list[PeriodicTask], now: datetime) -> dict[str, datetime]:
    """schedule_missed for many schedules, with one query for all their fire records."""
    candidates = {t.name: slot for t in tasks if (slot := _unfired_candidate(t, now)) is not None}
    if not candidates:
        return {}
    wanted = Q()
    for name, slot in candidates.items():
        wanted |= Q(schedule=name, slot=slot)
    fired = set(ScheduleFire.objects.filter(wanted).values_list("schedule", "slot"))
    return {name: slot for name, slot in candidates.items() if (name, slot) not in fired}


def schedule_status(task: PeriodicTask, now: datetime) -> dict:
    return _status(task, now, missed=schedule_missed(task, now))


def _status(task: PeriodicTask, now: datetime, *, missed: datetime | None) -> dict:
    spec = schedule_spec_of(task)
    next_run = _next_run(task, now)
    options = options_of(task)
    return {
        "name": task.name,
        "task": task.task,
        "enabled": task.enabled,
        "running": task.enabled,
        "cron": cron_expression_of(task),
        "interval_seconds": (
            task.interval.schedule.run_every.total_seconds() if task.interval_id else None
        ),
        "timezone": str(task.crontab.timezone) if task.crontab_id else "UTC",
        "description": spec.describe() if spec else str(task.interval or task.clocked or ""),
        "queue": task.queue,
        "last_run": task.last_run_at.isoformat() if task.last_run_at else None,
        "next_run": next_run.isoformat() if next_run else None,
        "total_run_count": task.total_run_count,
        "missed_slot": missed.isoformat() if missed else None,
        "run_on_init": bool(options and options.run_on_init),
    }


def schedule_get_status(*, name: str, now: datetime | None = None) -> dict:
    """One schedule's status (getJobStatus): ``exists``, ``enabled``, ``next_run``,
    ``last_run`` and the rest of its summary row; ScheduleNotFound for an unknown name."""
    now = now or datetime.now(UTC)
    task = _get(name)
    spec = schedule_spec_of(task) if task.enabled else None
    upcoming = spec.next_fires(now, UPCOMING_RUNS) if spec is not None else []
    return {
        "exists": True,
        **schedule_status(task, now),
        "upcoming": [f.astimezone(spec.zone).isoformat() for f in upcoming] if spec else [],
    }


def scheduler_summary(*, now: datetime | None = None) -> dict:
    """The scheduler summary (getSchedulerSummary): {total, running, stopped, jobs: [...]}."""
    now = now or datetime.now(UTC)
    tasks = [
        t
        for t in PeriodicTask.objects.select_related(*RELATED).order_by("name")
        if not t.task.startswith(PLATFORM_TASKS_PREFIX)
    ]
    # Two queries whatever the number of schedules: the schedules, and their fire records.
    missed = _missed_slots(tasks, now)
    jobs = [_status(t, now, missed=missed.get(t.name)) for t in tasks]
    running = sum(1 for j in jobs if j["running"])
    return {"total": len(jobs), "running": running, "stopped": len(jobs) - running, "jobs": jobs}


def schedule_set_enabled(*, name: str, enabled: bool) -> dict:
    """Start or stop a schedule; beat picks the change up without a restart."""
    task = _get(name)
    task.enabled = enabled
    task.save()  # bumps PeriodicTasks.changed, which beat polls
    return schedule_status(task, datetime.now(UTC))


def schedule_run_now(*, name: str):
    """Enqueue the schedule's task once, now, with its arguments and queue."""
    task = _get(name)
    args = json.loads(task.args or "[]")
    kwargs = json.loads(task.kwargs or "{}")
    options = {"queue": task.queue} if task.queue else {}
    if task.priority is not None:
        options["priority"] = task.priority
    registered = ledger_task(task.task)
    if registered is not None:
        return registered.apply_async(args, kwargs, **options)
    return current_app.send_task(task.task, args, kwargs, **options)
