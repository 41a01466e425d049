"""The metrics history: per-minute rollups of the ledger, exact over known jobs, idempotent,
late finishes counted, and still there after retention removed the jobs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.ledger.models import AttemptOutcome, Job, JobAttempt, JobStatus
from jobs.observability import rollups
from jobs.observability.models import MetricsRollup, RollupPeriod
from jobs.observability.rollups import BUCKETS_MS, bucket_of, floor_minute, rollup_run
from tests.support.ledger_rows import make_job

pytestmark = pytest.mark.django_db


def _job(status, *, finished, wait_ms=10.0, run_ms=20.0, queue="default", created=None):
    started = finished - timedelta(milliseconds=run_ms)
    due = started - timedelta(milliseconds=wait_ms)
    return make_job(
        status=status,
        queue=queue,
        created_at=created or due,
        scheduled_for=due,
        started_at=None if status == JobStatus.CANCELLED else started,
        finished_at=finished,
    )


def _bucket(ms):
    i = bucket_of(ms)
    return (BUCKETS_MS[i - 1] if i else 0.0), BUCKETS_MS[i]


@pytest.fixture
def minute():
    """A closed minute ten minutes ago, and jobs that finished in it with known times."""
    start = floor_minute(timezone.now()) - timedelta(minutes=10)
    at = start + timedelta(seconds=20)
    for _ in range(8):
        _job(JobStatus.COMPLETED, finished=at, wait_ms=30, run_ms=50)
    for _ in range(2):
        _job(JobStatus.FAILED, finished=at, wait_ms=3000, run_ms=2000)
    _job(JobStatus.CANCELLED, finished=at)
    retried = make_job(status=JobStatus.DELAYED, created_at=at, scheduled_for=at)
    JobAttempt.objects.create(
        job=retried, number=1, finished_at=at, outcome=AttemptOutcome.RETRIED, started_at=at
    )
    _job(JobStatus.COMPLETED, finished=at, queue="critical", run_ms=5)
    return start


def _rows():
    return list(
        MetricsRollup.objects.order_by("period", "queue", "start").values(
            "period", "queue", "start", "enqueued", "completed", "failed", "retried",
            "cancelled", "wait_hist", "run_hist", "wait_p50_ms", "run_p50_ms", "run_p95_ms",
        )
    )  # fmt: skip


def test_a_minute_is_rolled_up_with_exact_counts_and_bucket_percentiles(minute):
    rollup_run(now=minute + timedelta(minutes=3))

    row = MetricsRollup.objects.get(period=RollupPeriod.MINUTE, queue="default", start=minute)
    assert (row.completed, row.failed, row.cancelled, row.retried) == (8, 2, 1, 1)
    assert row.enqueued == 12  # every default-queue job above was created in that minute
    assert row.run_hist[bucket_of(50)] == 8 and row.run_hist[bucket_of(2000)] == 2
    assert row.wait_hist[bucket_of(30)] == 8 and row.wait_hist[bucket_of(3000)] == 2
    assert sum(row.run_hist) == 10  # the cancelled job never ran
    low, high = _bucket(50)
    assert row.run_p50_ms == pytest.approx(low + (high - low) * 5 / 8, abs=0.001)
    low, high = _bucket(2000)
    assert low <= row.run_p95_ms < high
    assert MetricsRollup.objects.get(queue="critical", start=minute).completed == 1

    # An hour's figures are the merged buckets of its minutes: the same percentiles here.
    summary = rollups.window_summary(
        since=minute - timedelta(minutes=30), until=minute + rollups.MINUTE
    )
    assert summary["default"]["completed"] == 8
    assert summary["default"]["runP50Ms"] == row.run_p50_ms
    assert summary["default"]["completedPerMinute"] == pytest.approx(8 / 31, abs=0.001)


def test_rolling_up_again_changes_nothing_and_a_late_finish_is_counted(minute):
    rollup_run(now=minute + timedelta(minutes=3))
    first = _rows()
    assert rollup_run(now=minute + timedelta(minutes=3, seconds=4)) == 0  # none closed
    assert _rows() == first

    # A finish stamped in the minute after, committed once that minute was rolled up.
    _job(JobStatus.COMPLETED, finished=minute + timedelta(minutes=1, seconds=50))
    rollup_run(now=minute + timedelta(minutes=4))
    late = MetricsRollup.objects.get(queue="default", start=minute + rollups.MINUTE)
    assert late.completed == 1
    assert [r for r in _rows() if r["start"] == minute] == [
        r for r in first if r["start"] == minute
    ]


def test_the_history_outlives_retention_and_old_minutes_become_hours(minute, settings):
    from jobs.tasks import apply_retention

    settings.JOBS_RETENTION = {"completed": {"age": 60}, "failed": {"age": 60}}
    # Finished 90 s ago: old enough for the policy, but its minute may still be rolled up.
    recent = make_job(status=JobStatus.COMPLETED, finished_ago=timedelta(seconds=90))

    apply_retention.run()

    assert not Job.objects.filter(
        status=JobStatus.COMPLETED, finished_at__lt=minute + rollups.MINUTE
    ).exists()
    assert Job.objects.filter(pk=recent.pk).exists()
    row = MetricsRollup.objects.get(period=RollupPeriod.MINUTE, queue="default", start=minute)
    assert (row.completed, row.failed) == (8, 2)

    # Two days on, the minute is merged into its hour, with the same counts and buckets.
    rollup_run(now=minute + rollups.MINUTE_KEEP + timedelta(hours=2))
    assert not MetricsRollup.objects.filter(period=RollupPeriod.MINUTE, start=minute).exists()
    hour = MetricsRollup.objects.get(
        period=RollupPeriod.HOUR, queue="default", start=rollups.floor_hour(minute)
    )
    assert hour.completed >= 8 and hour.run_hist[bucket_of(50)] >= 8


def test_the_api_and_prometheus_read_throughput_and_latency_from_the_rollups(staff_api, client):
    start = floor_minute(timezone.now()) - timedelta(minutes=5)
    for _ in range(6):
        _job(JobStatus.COMPLETED, finished=start + timedelta(seconds=1), wait_ms=30, run_ms=50)
    rollup_run()
    Job.objects.all().delete()  # the history no longer needs the jobs

    body = staff_api.get("/api/jobs/metrics").json()
    default = next(q for q in body["queues"] if q["queueName"] == "default")
    assert default["history"]["lastHour"]["completed"] == 6
    assert default["history"]["lastHour"]["completedPerMinute"] == 0.1
    low, high = _bucket(50)
    assert low <= default["history"]["lastHour"]["runP95Ms"] < high

    text = client.get("/metrics").content.decode()
    assert 'jobs_queue_throughput_per_minute{outcome="completed",queue="default"} 0.1' in text
    assert 'jobs_queue_run_seconds{quantile="0.5",queue="default"}' in text
    assert "jobs_rollup_lag_seconds" in text


def test_every_metric_the_grafana_dashboard_queries_is_exported(client):
    import json
    import re
    from pathlib import Path

    dashboard = Path(__file__).resolve().parents[3] / "docs" / "grafana" / "jobs-dashboard.json"
    text = dashboard.read_text()
    exprs = re.findall(r'"(?:expr|definition)": "((?:[^"\\]|\\.)*)"', text)
    assert len(json.loads(text)["panels"]) >= 10
    queried = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for expr in exprs
        for name in re.findall(r"\bjobs_[a-z_]+", expr)
    }
    exported = set(re.findall(r"^# TYPE (\S+) ", client.get("/metrics").content.decode(), re.M))
    assert queried and queried <= exported, queried - exported
