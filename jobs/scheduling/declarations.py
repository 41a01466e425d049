"""Periodic jobs declared in code, one ``schedules.py`` per app, synced into
django-celery-beat's tables by ``manage.py sync_schedules`` (run on deploy and by
``make run``).

After the first sync Django admin is the source of truth: a later sync creates schedules
that are missing but never overwrites an operator's edits (crontab, timezone, enabled).

    # waitlist/schedules.py
    from jobs import Schedule

    SCHEDULES = [
        Schedule(name="waitlist.expired-holds", task="waitlist.process_expired_holds",
                 cron="* * * * *", timezone="UTC", queue="waitlist.holds", priority="HIGH"),
    ]
"""

import importlib
import json
from dataclasses import dataclass, field

from django.apps import apps
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.errors import InvalidInput
from jobs.ledger.priorities import Priority


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    cron: str  # minute hour day-of-month month day-of-week
    timezone: str = "UTC"
    queue: str | None = None
    priority: str | int | None = None
    kwargs: dict = field(default_factory=dict)
    description: str = ""
    enabled: bool = True

    def crontab_fields(self) -> dict:
        parts = self.cron.split()
        if len(parts) != 5:
            raise InvalidInput(f"{self.cron!r} must have 5 fields", field="cron")
        minute, hour, day_of_month, month_of_year, day_of_week = parts
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
        if PeriodicTask.objects.filter(name=schedule.name).exists():
            outcome["kept"].append(schedule.name)
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(**schedule.crontab_fields())
        PeriodicTask.objects.create(
            name=schedule.name,
            task=schedule.task,
            crontab=crontab,
            kwargs=json.dumps(schedule.kwargs),
            queue=schedule.queue,
            priority=None if schedule.priority is None else _priority(schedule.priority),
            description=schedule.description,
            enabled=schedule.enabled,
        )
        outcome["created"].append(schedule.name)
    return outcome


def _priority(value) -> int:
    return int(Priority.parse(value))
