"""Metrics history: per-queue, per-minute rollups of the ledger, kept after retention.

Nothing is written on a job's hot path. A step of the workers' maintenance cycle (and of
the ``jobs.maintenance-sweep`` schedule) rolls up each closed minute from the ledger rows
finished in it, aggregated in the database (``jobs.ledger.selectors.minute_outcomes``):

- **Once per minute, idempotent.** A watermark (``RollupWatermark``) says up to which
  minute the ledger was rolled up; a run recomputes the minutes from the watermark minus
  ``REROLL`` to the last closed minute and replaces their rows, so a finish committed a
  little after its minute closed is still counted, and a second run changes nothing. Runs
  in several workers take turns on the watermark's row lock (a busy one is skipped).
- **Exact merges.** Wait (due time to start) and run (start to finish) times are counted
  per fixed log-spaced bucket (``BUCKETS_MS``: ten per decade from 1 ms to about an hour,
  so a percentile is within about 12 % of the true value); the buckets of any set of
  minutes add up to the histogram of all their jobs, so an hour's, a day's or a week's
  p50/p95 come from that sum, not from averaging minutes' percentiles.
- **Retention is bounded by it.** ``retention_bound()`` is the oldest finish time that
  may still be rolled up again; the retention schedule rolls up first and removes no
  finished job at or after that bound (``jobs.tasks.apply_retention``).
- **Kept for:** per-minute rows for ``MINUTE_KEEP`` (2 days); older minutes are merged
  into hourly rows, kept for ``HOUR_KEEP`` (90 days).

Jobs removed the moment they finish (``remove_on_complete``/``remove_on_fail`` true) leave
no row to roll up and are not counted; nor is a finish committed more than ``REROLL`` after
its timestamp (a worker that waited out a long database outage with the statement ready).
"""

import bisect
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from jobs.ledger.selectors import MinuteOutcomes, minute_outcomes
from jobs.observability.models import MetricsRollup, RollupPeriod, RollupWatermark

log = logging.getLogger(__name__)

# Upper edges (exclusive) of the histogram buckets in ms: 10 ** (k / 10), k = 0 .. 66, from
# 1 ms to about 66 minutes. Bucket i holds [BUCKETS_MS[i-1], BUCKETS_MS[i]); bucket 0 holds
# everything under 1 ms and the last one everything from the last edge up.
BUCKETS_MS: list[float] = [round(10 ** (k / 10), 3) for k in range(67)]
HIST_SIZE = len(BUCKETS_MS) + 1

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
# A minute is rolled up once it has been closed this long (finishes commit just after
# their finished_at), and the minutes this far behind the watermark are rolled up again.
LAG = timedelta(seconds=5)
REROLL = timedelta(minutes=2)
# On the first run, the history starts this far back (the ledger may still hold it).
BACKFILL = timedelta(days=2)
# Each run rolls up at most this much (a first run over a busy ledger stays bounded).
CHUNK = timedelta(hours=6)
MINUTE_KEEP = timedelta(days=2)
HOUR_KEEP = timedelta(days=90)
WATERMARK = "metrics"


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def floor_hour(moment: datetime) -> datetime:
    return floor_minute(moment).replace(minute=0)


def bucket_of(ms: float) -> int:
    return bisect.bisect_right(BUCKETS_MS, max(ms, 0.0))


def histogram(buckets: dict[int, int]) -> list[int]:
    hist = [0] * HIST_SIZE
    for index, n in buckets.items():
        hist[min(max(int(index), 0), HIST_SIZE - 1)] += n
    return hist


def merge(histograms: Iterable[list[int]]) -> list[int]:
    total = [0] * HIST_SIZE
    for hist in histograms:
        for i, n in enumerate(hist[:HIST_SIZE]):
            total[i] += n
    return total


def percentile(hist: list[int], fraction: float) -> float | None:
    """The ``fraction`` quantile of a bucket histogram, interpolated linearly inside its
    bucket (as Prometheus' histogram_quantile does); None for an empty histogram."""
    total = sum(hist)
    if not total:
        return None
    rank = fraction * total
    seen = 0
    for i, n in enumerate(hist):
        if n and seen + n >= rank:
            lower = BUCKETS_MS[i - 1] if i > 0 else 0.0
            if i >= len(BUCKETS_MS):
                return lower  # the open-ended last bucket: its lower edge
            upper = BUCKETS_MS[i]
            return round(lower + (upper - lower) * max(rank - seen, 0) / n, 3)
        seen += n
    return None


def _row(period: str, queue: str, start: datetime, outcome: MinuteOutcomes) -> MetricsRollup:
    wait, run = histogram(outcome.wait_buckets), histogram(outcome.run_buckets)
    return MetricsRollup(
        period=period,
        queue=queue,
        start=start,
        enqueued=outcome.enqueued,
        completed=outcome.completed,
        failed=outcome.failed,
        retried=outcome.retried,
        cancelled=outcome.cancelled,
        wait_hist=wait,
        run_hist=run,
        wait_p50_ms=percentile(wait, 0.5),
        wait_p95_ms=percentile(wait, 0.95),
        run_p50_ms=percentile(run, 0.5),
        run_p95_ms=percentile(run, 0.95),
    )


def rollup_watermark() -> datetime | None:
    row = RollupWatermark.objects.filter(name=WATERMARK).first()
    return row.rolled_until if row else None


def retention_bound() -> datetime | None:
    """Finished jobs at or after this time may still be rolled up (again): retention must
    keep them. None: nothing was rolled up yet, so retention must keep every finished job
    it would otherwise remove only after a rollup ran."""
    watermark = rollup_watermark()
    return None if watermark is None else watermark - REROLL


_seen_until: datetime | None = None


def rollup_step() -> int:
    """The maintenance cycle's step: asks the database only once a new minute has closed
    since this process last saw the watermark."""
    global _seen_until
    if _seen_until is not None and floor_minute(timezone.now() - LAG) <= _seen_until:
        return 0
    written = rollup_run()
    _seen_until = rollup_watermark()
    return written


def rollup_run(*, now: datetime | None = None) -> int:
    """Roll up every closed minute not rolled up yet (and the last ``REROLL`` again), then
    compact old minutes into hours. Returns the number of minute rows written; 0 when no
    minute closed since the last run or another process holds the watermark."""
    now = now or timezone.now()
    until = floor_minute(now - LAG)
    written = 0
    with transaction.atomic():
        RollupWatermark.objects.get_or_create(
            name=WATERMARK, defaults={"rolled_until": floor_minute(now - BACKFILL)}
        )
        mark = (
            RollupWatermark.objects.select_for_update(skip_locked=True)
            .filter(name=WATERMARK)
            .first()
        )
        if mark is None or mark.rolled_until >= until:
            return 0
        since = mark.rolled_until - REROLL
        end = min(until, mark.rolled_until + CHUNK)
        outcomes = minute_outcomes(since=since, until=end, bounds_ms=BUCKETS_MS)
        rows = [
            _row(RollupPeriod.MINUTE, queue, minute, outcome)
            for (queue, minute), outcome in sorted(outcomes.items())
            if since <= minute < end
        ]
        MetricsRollup.objects.filter(
            period=RollupPeriod.MINUTE, start__gte=since, start__lt=end
        ).delete()
        MetricsRollup.objects.bulk_create(rows)
        written = len(rows)
        mark.rolled_until = end
        mark.save(update_fields=["rolled_until"])
        _compact(now)
    if end < until:  # a long backlog: the next chunk in its own transaction
        written += rollup_run(now=now)
    return written


def _compact(now: datetime) -> None:
    """Merge the minutes of each hour older than MINUTE_KEEP into one hourly row; drop
    hourly rows older than HOUR_KEEP."""
    cutoff = floor_hour(now - MINUTE_KEEP)
    old = MetricsRollup.objects.filter(period=RollupPeriod.MINUTE, start__lt=cutoff)
    if old.exists():
        hours: dict[tuple[str, datetime], list[MetricsRollup]] = {}
        for row in old.order_by("start"):
            hours.setdefault((row.queue, floor_hour(row.start)), []).append(row)
        for (queue, hour), minutes in hours.items():
            existing = MetricsRollup.objects.filter(
                period=RollupPeriod.HOUR, queue=queue, start=hour
            ).first()
            merged = _merge_rows(queue, hour, minutes + ([existing] if existing else []))
            merged.period = RollupPeriod.HOUR
            if existing:
                merged.pk = existing.pk
            merged.save()
        old.delete()
    MetricsRollup.objects.filter(
        period=RollupPeriod.HOUR, start__lt=floor_hour(now - HOUR_KEEP)
    ).delete()


def _merge_rows(queue: str, start: datetime, rows: list[MetricsRollup]) -> MetricsRollup:
    outcome = MinuteOutcomes(
        enqueued=sum(r.enqueued for r in rows),
        completed=sum(r.completed for r in rows),
        failed=sum(r.failed for r in rows),
        retried=sum(r.retried for r in rows),
        cancelled=sum(r.cancelled for r in rows),
        wait_buckets=dict(enumerate(merge(r.wait_hist for r in rows))),
        run_buckets=dict(enumerate(merge(r.run_hist for r in rows))),
    )
    return _row(RollupPeriod.MINUTE, queue, start, outcome)


# --- reading ---------------------------------------------------------------------------------


@dataclass
class Totals:
    """Counts and merged histograms of a set of rollup rows."""

    enqueued: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    wait_hist: list[int] = field(default_factory=lambda: [0] * HIST_SIZE)
    run_hist: list[int] = field(default_factory=lambda: [0] * HIST_SIZE)

    def add(self, row: "MetricsRollup | Totals") -> None:
        self.enqueued += row.enqueued
        self.completed += row.completed
        self.failed += row.failed
        self.retried += row.retried
        self.cancelled += row.cancelled
        for mine, theirs in ((self.wait_hist, row.wait_hist), (self.run_hist, row.run_hist)):
            for i, n in enumerate(theirs[:HIST_SIZE]):
                if n:
                    mine[i] += n

    def summary(self, minutes: float) -> dict:
        return {
            "enqueued": self.enqueued,
            "completed": self.completed,
            "failed": self.failed,
            "retried": self.retried,
            "cancelled": self.cancelled,
            "completedPerMinute": round(self.completed / minutes, 3) if minutes else 0.0,
            "failedPerMinute": round(self.failed / minutes, 3) if minutes else 0.0,
            "waitP50Ms": percentile(self.wait_hist, 0.5),
            "waitP95Ms": percentile(self.wait_hist, 0.95),
            "runP50Ms": percentile(self.run_hist, 0.5),
            "runP95Ms": percentile(self.run_hist, 0.95),
        }


def _rows(since: datetime, until: datetime, queues: list[str] | None):
    # Hourly rows cover what the minutes no longer do; an hour row counts in the window
    # when its hour starts inside it.
    rows = MetricsRollup.objects.filter(start__gte=since, start__lt=until)
    if queues is not None:
        rows = rows.filter(queue__in=queues)
    return rows.order_by("start")


def window_totals(
    *, since: datetime, until: datetime, queues: list[str] | None = None
) -> dict[str, Totals]:
    """{queue: Totals} over the rollups that start in [since, until)."""
    totals: dict[str, Totals] = {}
    for row in _rows(since, until, queues):
        totals.setdefault(row.queue, Totals()).add(row)
    return totals


def window_summary(
    *, since: datetime, until: datetime, queues: list[str] | None = None
) -> dict[str, dict]:
    """{queue: summary} (counts, per-minute throughput, wait and run p50/p95 in ms)."""
    minutes = (until - since).total_seconds() / 60
    return {
        queue: totals.summary(minutes)
        for queue, totals in window_totals(since=since, until=until, queues=queues).items()
    }


def series(
    *, since: datetime, until: datetime, points: int, queues: list[str] | None = None
) -> dict[str, list[Totals]]:
    """{queue: [Totals per step]}: [since, until) cut into ``points`` equal steps (a queue
    with no rollup in the window is absent). The "*" entry adds up every queue."""
    step = (until - since) / points
    result: dict[str, list[Totals]] = {}
    for row in _rows(since, until, queues):
        index = min(int((row.start - since) / step), points - 1)
        for key in (row.queue, "*"):
            if key not in result:
                result[key] = [Totals() for _ in range(points)]
            result[key][index].add(row)
    return result


def count_series(
    *, since: datetime, until: datetime, points: int, queues: list[str] | None = None
) -> dict[str, list[Totals]]:
    """Like ``series`` but counts only (no histograms): what a day's or a week's sparkline
    needs, read as plain columns (thousands of rows, no JSON to decode)."""
    step = (until - since) / points
    result: dict[str, list[Totals]] = {}
    rows = _rows(since, until, queues).values_list(
        "queue", "start", "enqueued", "completed", "failed", "retried", "cancelled"
    )
    for queue, start, enqueued, completed, failed, retried, cancelled in rows:
        index = min(int((start - since) / step), points - 1)
        for key in (queue, "*"):
            if key not in result:
                result[key] = [Totals() for _ in range(points)]
            totals = result[key][index]
            totals.enqueued += enqueued
            totals.completed += completed
            totals.failed += failed
            totals.retried += retried
            totals.cancelled += cancelled
    return result
