"""The Prometheus collector: per-queue gauges and job duration histograms.

It reads the ledger at scrape time (the same index-backed selectors as the API), so the
workers' hot path records nothing extra and every web process answers alike. The HTTP
endpoint and its access rules are in ``jobs.web.prometheus``.
"""

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from jobs.ledger import selectors
from jobs.ledger.queues import is_paused, paused_queues, queue_names
from jobs.ledger.workers import live_workers
from jobs.observability.metrics import broker_depths
from jobs.observability.models import Alert
from jobs.observability.rollups import floor_minute, rollup_watermark, window_summary


class LedgerCollector:
    """Builds every metric family from the ledger when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        queues = queue_names()
        counts = selectors.queue_status_counts(queues)
        paused = paused_queues()
        depths = broker_depths(queues)

        jobs = GaugeMetricFamily(
            "jobs_queue_jobs", "Jobs in the ledger by queue and status.", labels=["queue", "status"]
        )
        paused_gauge = GaugeMetricFamily(
            "jobs_queue_paused", "1 if the queue is paused.", labels=["queue"]
        )
        depth = GaugeMetricFamily(
            "jobs_queue_broker_depth", "Messages waiting in Redis for the queue.", labels=["queue"]
        )
        for queue in queues:
            for status, n in counts[queue].items():
                jobs.add_metric([queue, status], n)
            paused_gauge.add_metric([queue], int(is_paused(queue, paused)))
            queue_depth = depths.get(queue)
            if queue_depth is not None:
                depth.add_metric([queue], queue_depth)
        yield jobs
        yield paused_gauge
        yield depth

        window = selectors.finished_window_stats(
            since=now - selectors.WINDOW, until=now + timedelta(seconds=1)
        )
        rate = GaugeMetricFamily(
            "jobs_queue_failure_rate_last_hour",
            "Percentage of the queue's jobs finished in the last hour that failed.",
            labels=["queue"],
        )
        for queue, stats in window.items():
            if stats.failure_rate is not None:
                rate.add_metric([queue], stats.failure_rate)
        yield rate

        histogram = HistogramMetricFamily(
            "jobs_duration_seconds",
            "Run time of the jobs that finished in the last hour (completed or failed).",
            labels=["queue"],
        )
        for queue, h in sorted(
            selectors.duration_histograms(
                since=now - selectors.WINDOW, until=now + timedelta(seconds=1)
            ).items()
        ):
            buckets = [(_bound(le), n) for le, n in h.buckets] + [("+Inf", h.count)]
            histogram.add_metric([queue], buckets, sum_value=h.sum)
        yield histogram

        yield from _history(now)

        workers = GaugeMetricFamily(
            "jobs_workers_live", "Worker processes with a recent heartbeat.", labels=["role"]
        )
        for role in ("main", "child"):
            workers.add_metric([role], live_workers(role=role, now=now).count())
        yield workers

        alerts = GaugeMetricFamily("jobs_alerts_open", "Open alerts by rule.", labels=["rule"])
        open_by_rule: dict[str, int] = {}
        for rule in Alert.objects.filter(resolved_at=None).values_list("rule", flat=True):
            open_by_rule[rule] = open_by_rule.get(rule, 0) + 1
        for rule, n in sorted(open_by_rule.items()):
            alerts.add_metric([rule], n)
        yield alerts


def _history(now) -> Iterator[Metric]:
    """Throughput and latency of the last hour's closed minutes, from the metrics rollups
    (the same figures as the API's ``history.lastHour`` and the admin dashboard)."""
    until = floor_minute(now)
    summary = window_summary(since=until - selectors.WINDOW, until=until)
    throughput = GaugeMetricFamily(
        "jobs_queue_throughput_per_minute",
        "Jobs finished per minute over the last hour's closed minutes, by outcome.",
        labels=["queue", "outcome"],
    )
    wait = GaugeMetricFamily(
        "jobs_queue_wait_seconds",
        "Due time to start of the last hour's finished jobs (from histogram buckets).",
        labels=["queue", "quantile"],
    )
    run = GaugeMetricFamily(
        "jobs_queue_run_seconds",
        "Run time of the last hour's finished jobs (from histogram buckets).",
        labels=["queue", "quantile"],
    )
    for queue, figures in sorted(summary.items()):
        throughput.add_metric([queue, "completed"], figures["completedPerMinute"])
        throughput.add_metric([queue, "failed"], figures["failedPerMinute"])
        for family, prefix in ((wait, "wait"), (run, "run")):
            for quantile, key in (("0.5", f"{prefix}P50Ms"), ("0.95", f"{prefix}P95Ms")):
                if figures[key] is not None:
                    family.add_metric([queue, quantile], figures[key] / 1000)
    yield throughput
    yield wait
    yield run
    lag = GaugeMetricFamily(
        "jobs_rollup_lag_seconds", "How far the metrics rollup is behind the clock."
    )
    watermark = rollup_watermark()
    if watermark is not None:
        lag.add_metric([], (now - watermark).total_seconds())
    yield lag


def _bound(value: float) -> str:
    return repr(float(value))
