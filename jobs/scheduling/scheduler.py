"""django-celery-beat's DatabaseScheduler, made safe to run twice and right across DST.

- Cron schedules (five fields, or six with seconds first) are evaluated by
  ``jobs.scheduling.cron`` in the schedule's own timezone, to the second; interval
  (``every``) schedules fire at slots aligned to the Unix epoch.
- Before sending, the scheduler records the fire in ``ScheduleFire`` (unique per schedule
  and slot): a second beat process started by mistake finds the slot taken and sends
  nothing.
- After downtime a schedule fires once, for its latest missed slot, not once per slot.
- A schedule with ``run_on_init`` fires once when beat starts, besides its slots; two beats
  starting together fire it once (``RUN_ON_INIT_WINDOW``).
Everything else (admin edits picked up without a restart, start/stop) is the stock
DatabaseScheduler's behaviour.
- A database outage does not stop beat: it waits (at start-up too) and goes on.
"""

import logging
from datetime import UTC, datetime, timedelta

from celery import schedules
from django.db import IntegrityError, transaction
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from jobs.ledger.workers import process_name
from jobs.runtime import database_outage
from jobs.scheduling.cron import CronSpec, IntervalSpec, join_seconds
from jobs.scheduling.models import ScheduleFire, ScheduleOptions

log = logging.getLogger(__name__)

# A beat that starts within this long of another beat's start-up fire of a schedule does not
# fire it again: that is a second beat started by mistake (or a crash loop), not a deploy.
RUN_ON_INIT_WINDOW = timedelta(seconds=60)
INIT_SUFFIX = "@init"


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


def options_of(task) -> ScheduleOptions | None:
    """The schedule's ScheduleOptions row, or None (Django caches the answer on the task)."""
    try:
        return task.ledger_options
    except ScheduleOptions.DoesNotExist:
        return None


def cron_expression_of(task) -> str | None:
    """The schedule's cron expression as written: six fields when it has a seconds field."""
    if task.crontab_id is None:
        return None
    options = options_of(task)
    return join_seconds(options.second if options else "0", crontab_expression(task.crontab))


def cron_spec_of(task) -> CronSpec | None:
    """The CronSpec of a PeriodicTask with a crontab schedule, else None."""
    expression = cron_expression_of(task)
    if expression is None:
        return None
    return CronSpec(expression, str(task.crontab.timezone))


def schedule_spec_of(task) -> CronSpec | IntervalSpec | None:
    """How the scheduler evaluates a schedule: cron, epoch-aligned interval, or neither
    (clocked and solar schedules keep django-celery-beat's own evaluation)."""
    spec = cron_spec_of(task)
    if spec is not None:
        return spec
    if task.interval_id is not None:
        return IntervalSpec(task.interval.schedule.run_every)
    return None


def init_fire_key(name: str) -> str:
    """The ScheduleFire.schedule of a start-up fire: never equal to a schedule's own name, so
    a start-up fire neither takes a slot nor counts as one in the missed-run check."""
    return name[: 200 - len(INIT_SUFFIX)] + INIT_SUFFIX


class LedgerEntry(ModelEntry):
    due_slot: datetime | None = None

    def is_due(self):
        spec = schedule_spec_of(self.model) if self.model.enabled else None
        if spec is None:
            return super().is_due()
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
        database_outage.until_reachable(self.fire_on_init)

    def fire_on_init(self) -> list[str]:
        """Send every enabled ``run_on_init`` schedule once; the names of those sent."""
        # Not self.schedule: django-celery-beat leaves out crontab schedules whose hour is
        # more than two hours away, and a nightly run_on_init schedule must fire at 10:00 too.
        models = PeriodicTask.objects.filter(
            enabled=True, ledger_options__run_on_init=True
        ).select_related("crontab", "interval", "clocked", "solar", "ledger_options")
        sent = []
        for model in models:
            name = model.name
            try:
                entry = self.Entry(model, app=self.app)
            except ValueError:  # as django-celery-beat: a schedule it cannot read is skipped
                continue
            if (fire := self._claim_init_fire(name)) is None:
                continue
            entry.due_slot = None
            try:
                # advance=False: the start-up fire leaves the schedule's own slots alone.
                result = super().apply_async(entry, advance=False)
            except Exception:  # as Celery's tick does: a failed send must not stop beat
                log.exception("start-up fire of schedule %s could not be sent", name)
                ScheduleFire.objects.filter(pk=fire.pk).delete()  # the next start tries again
                continue
            if result is not None and getattr(result, "id", None):
                ScheduleFire.objects.filter(pk=fire.pk).update(job_id=str(result.id))
            sent.append(name)
        return sent

    def _claim_init_fire(self, name: str) -> ScheduleFire | None:
        now = datetime.now(UTC)
        key = init_fire_key(name)
        with transaction.atomic():
            # The schedule's row lock makes two beats starting together take turns here.
            PeriodicTask.objects.select_for_update().filter(name=name).first()
            if ScheduleFire.objects.filter(
                schedule=key, slot__gt=now - RUN_ON_INIT_WINDOW
            ).exists():
                log.info("schedule %s already fired at start-up by another beat", name)
                return None
            return ScheduleFire.objects.create(
                schedule=key, slot=now, fired_at=now, scheduler=process_name()
            )

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
