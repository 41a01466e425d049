"""Periodic jobs declared in code, one ``schedules.py`` per app, synced into
django-celery-beat's tables by ``manage.py sync_schedules`` (run on deploy and by
``make run``).

After the first sync Django admin is the source of truth: a later sync creates schedules
that are missing but never overwrites an operator's edits (crontab, timezone, enabled).

    # waitlist/schedules.py
    from datetime import timedelta
    from jobs import EVERY_MINUTE, Schedule

    SCHEDULES = [
        Schedule(name="waitlist.expired-holds", task="waitlist.process_expired_holds",
                 cron=EVERY_MINUTE, timezone="UTC", queue="waitlist.holds", priority="HIGH"),
        Schedule(name="reports.refresh", task="reports.refresh", cron="0 */2 * * * *"),
        Schedule(name="feeds.poll", task="feeds.poll", every=timedelta(seconds=30),
                 run_on_init=True),
    ]

A schedule has either ``cron`` (five fields, or six with the seconds first) or ``every``
(a ``timedelta`` or whole seconds: slots aligned to the Unix epoch). ``run_on_init`` fires it
once more whenever beat starts.
"""

import importlib
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from jobs.errors import InvalidInput
from jobs.ledger.priorities import Priority
from jobs.scheduling.cron import CronSpec, IntervalSpec, split_seconds
from jobs.scheduling.models import ScheduleOptions


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    cron: str | None = None  # [second] minute hour day-of-month month day-of-week
    timezone: str = "UTC"
    queue: str | None = None
    priority: str | int | None = None
    kwargs: dict = field(default_factory=dict)
    description: str = ""
    enabled: bool = True
    every: timedelta | int | float | None = None
    run_on_init: bool = False

    def spec(self) -> CronSpec | IntervalSpec:
        """The evaluated schedule; InvalidInput names the field at fault."""
        if (self.cron is None) == (self.every is None):
            raise InvalidInput(f"schedule {self.name!r}: give either cron or every", field="cron")
        if self.cron is not None:
            return CronSpec(self.cron, self.timezone)
        spec = IntervalSpec(self.every)  # type: ignore[arg-type]
        if spec.every != int(spec.every):
            raise InvalidInput(
                f"schedule {self.name!r}: every must be whole seconds", field="every"
            )
        return spec

    @property
    def second(self) -> str:
        """The seconds field of the cron expression ("0" for five fields or an interval)."""
        return split_seconds(self.cron)[0] if self.cron is not None else "0"

    def crontab_fields(self) -> dict:
        self.spec()
        minute, hour, day_of_month, month_of_year, day_of_week = split_seconds(self.cron or "")[
            1
        ].split()
        return {
            "minute": minute,
            "hour": hour,
            "day_of_month": day_of_month,
            "month_of_year": month_of_year,
            "day_of_week": day_of_week,
            "timezone": self.timezone,
        }


def declared_schedules() -> list[Schedule]:
    """Every app's ``schedules.SCHEDULES``, in app order."""
    found: list[Schedule] = []
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.schedules":
                raise
            continue
        found.extend(getattr(module, "SCHEDULES", []))
    return found


def schedules_sync(*, schedules: list[Schedule] | None = None) -> dict[str, list[str]]:
    """Create missing periodic tasks; leave existing ones (and operators' edits) alone."""
    outcome: dict[str, list[str]] = {"created": [], "kept": []}
    for schedule in schedules if schedules is not None else declared_schedules():
        spec = schedule.spec()
        if PeriodicTask.objects.filter(name=schedule.name).exists():
            outcome["kept"].append(schedule.name)
            continue
        when: dict = {}
        if isinstance(spec, IntervalSpec):
            when["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=int(spec.every), period=IntervalSchedule.SECONDS
            )
        else:
            when["crontab"], _ = CrontabSchedule.objects.get_or_create(**schedule.crontab_fields())
        with transaction.atomic():
            task = PeriodicTask.objects.create(
                name=schedule.name,
                task=schedule.task,
                kwargs=json.dumps(schedule.kwargs),
                queue=schedule.queue,
                priority=None if schedule.priority is None else _priority(schedule.priority),
                description=schedule.description,
                enabled=schedule.enabled,
                **when,
            )
            if schedule.second != "0" or schedule.run_on_init:
                ScheduleOptions.objects.create(
                    periodic_task=task, second=schedule.second, run_on_init=schedule.run_on_init
                )
        outcome["created"].append(schedule.name)
    return outcome


def _priority(value) -> int:
    return int(Priority.parse(value))
