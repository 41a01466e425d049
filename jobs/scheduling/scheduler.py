"""django-celery-beat's DatabaseScheduler, made safe to run twice and right across DST.

- Cron schedules are evaluated by ``jobs.cron`` in the schedule's own timezone.
- Before sending, the scheduler records the fire in ``ScheduleFire`` (unique per schedule
  and slot): a second beat process started by mistake finds the slot taken and sends
  nothing. Interval schedules use epoch-aligned slots for the same purpose.
- After downtime a schedule fires once, for its latest missed slot, not once per slot.
Everything else (admin edits picked up without a restart, start/stop) is the stock
DatabaseScheduler's behaviour.
- A database outage does not stop beat: it waits (at start-up too) and goes on.
"""

import logging
from datetime import UTC, datetime

from celery import schedules
from django.db import IntegrityError, transaction
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from jobs.ledger.workers import process_name
from jobs.runtime import database_outage
from jobs.scheduling.cron import CronSpec
from jobs.scheduling.models import ScheduleFire

log = logging.getLogger(__name__)


def crontab_expression(crontab) -> str:
    return " ".join(
        [
            crontab.minute,
            crontab.hour,
            crontab.day_of_month,
            crontab.month_of_year,
            crontab.day_of_week,
        ]
    )


def cron_spec_of(task) -> CronSpec | None:
    """The CronSpec of a PeriodicTask with a crontab schedule, else None."""
    if task.crontab_id is None:
        return None
    return CronSpec(crontab_expression(task.crontab), str(task.crontab.timezone))


class LedgerEntry(ModelEntry):
    due_slot: datetime | None = None

    def is_due(self):
        spec = cron_spec_of(self.model) if self.model.enabled else None
        if spec is None:
            state = super().is_due()
            if state.is_due and self.model.interval_id:
                every = self.model.interval.schedule.run_every.total_seconds()
                epoch = datetime.now(UTC).timestamp()
                self.due_slot = datetime.fromtimestamp(epoch - epoch % every, UTC)
            return state
        # start_time / expires / one_off handling stays the stock one.
        if self.model.start_time or self.model.expires or self.model.one_off:
            stock = super().is_due()
            if not stock.is_due and stock.next >= 5:
                return stock
        now = datetime.now(UTC)
        last = self.last_run_at.astimezone(UTC) if self.last_run_at else now
        upcoming = spec.next_fires(last, 1)
        if not upcoming:
            return schedules.schedstate(False, 3600.0)
        if upcoming[0] > now:
            return schedules.schedstate(False, (upcoming[0] - now).total_seconds())
        # Due. After downtime only the latest missed slot fires.
        self.due_slot = spec.latest_fire(now) or upcoming[0]
        following = spec.next_fires(now, 1)
        wait = (following[0] - now).total_seconds() if following else 3600.0
        return schedules.schedstate(True, max(wait, 0.5))


class LedgerScheduler(DatabaseScheduler):
    Entry = LedgerEntry

    def setup_schedule(self):
        # Beat may start before the database answers, or during an outage: wait for it.
        database_outage.until_reachable(self._read_again(super().setup_schedule))

    def tick(self, *args, **kwargs):
        """Celery's tick, surviving a database outage: beat waits and fires the due slots
        when the database is back (a slot missed meanwhile fires once, late)."""
        tick = super().tick
        calls = 0

        def attempt():
            nonlocal calls
            calls += 1
            if calls > 1:
                self._initial_read = True  # read what failed to load during the outage
            return tick(*args, **kwargs)

        return database_outage.until_reachable(attempt)

    def _read_again(self, call):
        """``call``, after making django-celery-beat read the schedule afresh: it logs a
        database error and keeps no schedule, then never tries that initial read again."""

        def again():
            self._initial_read = True
            return call()

        return again

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        slot = getattr(entry, "due_slot", None)
        if slot is None:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        name = process_name()
        try:
            with transaction.atomic():
                fire = ScheduleFire.objects.create(
                    schedule=entry.name, slot=slot, fired_at=datetime.now(UTC), scheduler=name
                )
        except IntegrityError:
            log.info("schedule %s slot %s already fired by another scheduler", entry.name, slot)
            entry.due_slot = None
            return None
        entry.due_slot = None
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        if result is not None and getattr(result, "id", None):
            ScheduleFire.objects.filter(pk=fire.pk).update(job_id=str(result.id))
        return result
