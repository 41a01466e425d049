"""Cron expressions in a timezone: validation, next fire times, a readable description.

Five fields (minute hour day-of-month month day-of-week) or six, with seconds first
(second minute hour day-of-month month day-of-week: ``0 */2 * * * *``). The seconds of a
six-field expression are offsets inside each matching minute: DST moves whole minutes, so a
minute's fires are its UTC instant plus those seconds.

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


_MINUTE = timedelta(minutes=1)


def split_seconds(expression: str) -> tuple[str, str]:
    """(seconds field, five-field expression): ``"0"`` for a five-field expression."""
    parts = expression.split()
    if len(parts) == 6:
        return parts[0], " ".join(parts[1:])
    if len(parts) == 5:
        return "0", " ".join(parts)
    raise InvalidInput(
        f"{expression!r} must have 5 fields (minute hour day-of-month month day-of-week) "
        "or 6 (second first)",
        field="cron",
    )


def join_seconds(second: str, five_fields: str) -> str:
    """The expression as written: five fields when the second is 0, else six."""
    return five_fields if second == "0" else f"{second} {five_fields}"


class CronSpec:
    def __init__(self, expression: str, tz: str = "UTC"):
        second, five = split_seconds(expression)
        parts = five.split()
        self.expression = expression
        try:
            self.seconds = sorted(crontab_parser(60, 0).parse(second))
        except (ParseException, ValueError, IndexError) as exc:
            raise InvalidInput(f"bad second field {second!r}: {exc}", field="cron") from None
        self.five_fields = five
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

    def _minute_fires_after(self, after: datetime):
        """Every minute fire strictly after ``after``, in order (a generator)."""
        day = after.astimezone(self.zone).date() - timedelta(days=1)
        last: datetime | None = None
        for _ in range(_SCAN_DAYS):
            if self._day_matches(day):
                for fire in self._fires_on(day):
                    if fire > after and (last is None or fire > last):
                        last = fire
                        yield fire
            day += timedelta(days=1)

    def next_fires(self, after: datetime, n: int = 1) -> list[datetime]:
        """The next ``n`` fire instants strictly after ``after`` (aware datetimes, UTC)."""
        after = after.astimezone(UTC)
        found: list[datetime] = []
        # A minute that began up to 59 s before ``after`` may still have seconds to fire.
        for minute in self._minute_fires_after(after - _MINUTE):
            for second in self.seconds:
                fire = minute + timedelta(seconds=second)
                if fire > after:
                    found.append(fire)
                    if len(found) == n:
                        return found
        return found

    def latest_fire(self, at_or_before: datetime, horizon: timedelta = timedelta(days=2)):
        """The most recent fire instant at or before the given time (within ``horizon``)."""
        at = at_or_before.astimezone(UTC)
        minute = self._latest_minute_fire(at, horizon)
        while minute is not None:
            fits = [s for s in self.seconds if minute + timedelta(seconds=s) <= at]
            if fits:
                fire = minute + timedelta(seconds=fits[-1])
                return fire if fire > at - horizon else None
            # Every second of this minute is still to come: the minute before it has the fire.
            minute = self._latest_minute_fire(minute - timedelta(microseconds=1), horizon)
        return None

    def _latest_minute_fire(self, at: datetime, horizon: timedelta) -> datetime | None:
        """The most recent minute fire at or before the given time (within ``horizon``).

        Searched backwards a local day at a time: the first day with a fire at or before the
        time holds the answer. (Scanning forwards from ``at - horizon`` built every fire of
        the horizon 64 at a time, each batch recomputing its days: ~0.15 s per every-minute
        schedule, paid by every health and scheduler answer.)
        """
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


class IntervalSpec:
    """An ``every`` schedule as slots aligned to the Unix epoch (every 300 s: :00, :05, ...),
    with CronSpec's interface, so beat, the missed-run check and the preview treat both alike.
    Aligned slots are what lets two beat processes agree on which slot a fire belongs to."""

    tz = "UTC"
    zone = UTC

    def __init__(self, every: timedelta | float | int):
        seconds = every.total_seconds() if isinstance(every, timedelta) else float(every)
        if not seconds >= 1:
            raise InvalidInput("an interval must be at least 1 second", field="every")
        self.every = seconds

    def _slot(self, index: int) -> datetime:
        return datetime.fromtimestamp(index * self.every, UTC)

    def next_fires(self, after: datetime, n: int = 1) -> list[datetime]:
        index = int(after.timestamp() // self.every)
        found: list[datetime] = []
        while len(found) < n:
            index += 1
            if (fire := self._slot(index)) > after:
                found.append(fire)
        return found

    def latest_fire(self, at_or_before: datetime, horizon: timedelta = timedelta(days=2)):
        fire = self._slot(int(at_or_before.timestamp() // self.every))
        if fire > at_or_before:  # float rounding at a slot's very boundary
            fire = self._slot(int(at_or_before.timestamp() // self.every) - 1)
        return fire if fire > at_or_before - horizon else None

    def describe(self) -> str:
        return f"Every {describe_seconds(self.every)}"


def describe_seconds(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    amount: float = int(seconds) if seconds == int(seconds) else seconds
    return f"{amount:g} second{'s' if amount != 1 else ''}"


def cron_preview(
    *,
    cron: str | None = None,
    tz: str = "UTC",
    n: int = 5,
    after: datetime | None = None,
    every: float | None = None,
):
    """The next fire times (getNextExecutions) and a description, of a cron expression (five
    or six fields) or of an ``every`` interval in seconds; InvalidInput names the field."""
    if not 1 <= n <= 100:
        raise InvalidInput("must be between 1 and 100", field="n")
    if (cron is None) == (every is None):
        raise InvalidInput("give either cron or every", field="cron")
    spec: CronSpec | IntervalSpec
    if cron is not None:
        spec = CronSpec(cron, tz)
    else:
        assert every is not None
        spec = IntervalSpec(every)
    fires = spec.next_fires(after or datetime.now(UTC), n)
    return {
        "cron": cron,
        "every": every,
        "timezone": spec.tz,
        "description": spec.describe(),
        "next": [f.astimezone(spec.zone).isoformat() for f in fires],
    }


def validate_cron_expression(expression: str) -> bool:
    """Whether an expression is valid cron, five or six fields (validateCronExpression)."""
    try:
        CronSpec(expression)
    except ValueError:
        return False
    return True
