"""Cron expressions in a timezone: validation, next fire times, a readable description.

DST policy (documented in README):
- a fire time that does not exist (spring forward, e.g. 02:30 in Europe/Berlin on the last
  Sunday of March) fires once, shifted forward by the gap (03:30 local);
- a fire time that occurs twice (fall back) fires once, at its first occurrence.
Day-of-month and day-of-week combine as in cron(8): if both are restricted, either matches.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import ParseException, crontab_parser
from cron_descriptor import get_description

from jobs.errors import InvalidInput

FIELDS = (
    ("minute", 60, 0),
    ("hour", 24, 0),
    ("day_of_month", 31, 1),
    ("month_of_year", 12, 1),
    ("day_of_week", 7, 0),
)
_SCAN_DAYS = 366 * 8


class CronSpec:
    def __init__(self, expression: str, tz: str = "UTC"):
        parts = expression.split()
        if len(parts) != 5:
            raise InvalidInput(
                f"{expression!r} must have 5 fields (minute hour day-of-month month day-of-week)",
                field="cron",
            )
        self.expression = expression
        self.sets: dict[str, set[int]] = {}
        for (name, size, offset), text in zip(FIELDS, parts, strict=True):
            try:
                values = crontab_parser(size, offset).parse(text)
            except (ParseException, ValueError, IndexError) as exc:
                raise InvalidInput(
                    f"bad {name.replace('_', ' ')} field {text!r}: {exc}", field="cron"
                ) from None
            if name == "day_of_week":
                values = {v % 7 for v in values}  # 7 is Sunday too
            self.sets[name] = values
        self.dom_restricted = parts[2] != "*"
        self.dow_restricted = parts[4] != "*"
        try:
            self.zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown timezone {tz!r}", field="tz") from None
        self.tz = tz

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.sets["month_of_year"]:
            return False
        dom = day.day in self.sets["day_of_month"]
        dow = (day.weekday() + 1) % 7 in self.sets["day_of_week"]
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow

    def _fires_on(self, day: date) -> list[datetime]:
        fires = set()
        for hour in self.sets["hour"]:
            for minute in self.sets["minute"]:
                local = datetime.combine(day, time(hour, minute), tzinfo=self.zone)
                # fold=0: a repeated wall time means its first occurrence; a nonexistent
                # one resolves with the pre-transition offset, i.e. shifted by the gap.
                fires.add(local.astimezone(UTC))
        return sorted(fires)

    def next_fires(self, after: datetime, n: int = 1) -> list[datetime]:
        """The next ``n`` fire instants strictly after ``after`` (aware datetimes, UTC)."""
        after = after.astimezone(UTC)
        day = after.astimezone(self.zone).date() - timedelta(days=1)
        found: list[datetime] = []
        for _ in range(_SCAN_DAYS):
            if self._day_matches(day):
                for fire in self._fires_on(day):
                    if fire > after and (not found or fire > found[-1]):
                        found.append(fire)
                        if len(found) == n:
                            return found
            day += timedelta(days=1)
        return found

    def latest_fire(self, at_or_before: datetime, horizon: timedelta = timedelta(days=2)):
        """The most recent fire instant at or before the given time (within ``horizon``).

        Searched backwards a local day at a time: the first day with a fire at or before the
        time holds the answer. (Scanning forwards from ``at - horizon`` built every fire of
        the horizon 64 at a time, each batch recomputing its days: ~0.15 s per every-minute
        schedule, paid by every health and scheduler answer.)
        """
        at = at_or_before.astimezone(UTC)
        earliest = at - horizon
        day = at.astimezone(self.zone).date()
        first_day = earliest.astimezone(self.zone).date() - timedelta(days=1)
        while day >= first_day:
            if self._day_matches(day):
                for fire in reversed(self._fires_on(day)):
                    if fire <= at:
                        return fire if fire > earliest else None
            day -= timedelta(days=1)
        return None

    def describe(self) -> str:
        try:
            return f"{get_description(self.expression)} ({self.tz})"
        except Exception:
            return f"{self.expression} ({self.tz})"


def cron_preview(*, cron: str, tz: str = "UTC", n: int = 5, after: datetime | None = None):
    """The next fire times (getNextExecutions) and a description; InvalidInput names the field."""
    if not 1 <= n <= 100:
        raise InvalidInput("must be between 1 and 100", field="n")
    spec = CronSpec(cron, tz)
    fires = spec.next_fires(after or datetime.now(UTC), n)
    return {
        "cron": cron,
        "timezone": tz,
        "description": spec.describe(),
        "next": [f.astimezone(spec.zone).isoformat() for f in fires],
    }


def validate_cron_expression(expression: str) -> bool:
    """Whether an expression is valid cron (validateCronExpression)."""
    try:
        CronSpec(expression)
    except ValueError:
        return False
    return True
