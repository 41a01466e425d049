"""Metrics selectors (correct, index-backed, fast on a big ledger) and Prometheus /metrics."""

import base64
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jobs.ledger import queues, selectors, sql
from jobs.models import Job, JobStatus, QueueState
from jobs.observability import metrics
from tests.support.auth import access_token
from tests.support.ledger_rows import make_job, make_jobs

pytestmark = pytest.mark.django_db


# --- correctness ----------------------------------------------------------------------------
def test_counts_cover_every_queue_and_status_with_zeros():
    make_jobs(2, status=JobStatus.WAITING)
    make_job(status=JobStatus.CANCELLED, queue="tickets.email")

    counts = selectors.queue_status_counts()

    assert set(counts) == set(queues.queue_names())
    assert counts["default"] == {
        "delayed": 0,
        "waiting": 2,
        "active": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert counts["tickets.email"]["cancelled"] == 1


def test_window_stats_average_and_p95_match_a_straight_computation():
    durations = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000]
    for ms in durations:
        make_job(status=JobStatus.COMPLETED, run_ms=ms)
    make_jobs(2, status=JobStatus.FAILED)
    make_job(status=JobStatus.COMPLETED, run_ms=99999, finished_ago=timedelta(hours=2))
    now = timezone.now()

    stats = selectors.finished_window_stats(since=now - timedelta(hours=1), until=now)["default"]

    assert (stats.completed, stats.failed) == (10, 2)
    assert stats.avg_ms == pytest.approx(sum(durations) / 10, abs=0.1)
    assert stats.p95_ms == pytest.approx(selectors._percentile(durations, 0.95), abs=0.1)
    assert stats.failure_rate == pytest.approx(16.67)


def test_duration_histogram_is_cumulative():
    for ms in (3, 40, 40, 700, 20_000):
        make_job(status=JobStatus.COMPLETED, run_ms=ms)
    now = timezone.now()

    h = selectors.duration_histograms(since=now - timedelta(hours=1), until=now)["default"]

    buckets = dict(h.buckets)
    assert (buckets[0.005], buckets[0.05], buckets[1.0], buckets[30.0], h.count) == (1, 3, 4, 5, 5)
    assert h.sum == pytest.approx(20.783, abs=0.01)


# --- a big ledger -------------------------------------------------------------------------------
def _fill_ledger(rows: int) -> None:
    """``rows`` jobs in one INSERT ... SELECT generate_series: 90 % completed, 5 % failed,
    the rest live, spread over five queues and the last ~28 hours."""
    expressions = {
        "id": "gen_random_uuid()",
        "task": "'jobs.noop'",
        "queue": "(ARRAY['default','jobs.maintenance','waitlist.holds','tickets.email',"
        "'tickets.generation'])[1 + g %% 5]",
        "priority": "1 + g %% 5",
        "status": "CASE WHEN g %% 100 < 90 THEN 'completed' WHEN g %% 100 < 95 THEN 'failed' "
        "WHEN g %% 100 < 97 THEN 'waiting' WHEN g %% 100 < 98 THEN 'delayed' "
        "WHEN g %% 100 < 99 THEN 'active' ELSE 'cancelled' END",
        "created_at": "now() - g * interval '500 ms'",
        "scheduled_for": "now() - g * interval '500 ms'",
        "started_at": "now() - g * interval '500 ms'",
        "finished_at": "CASE WHEN g %% 100 < 95 "
        "THEN now() - g * interval '500 ms' + (g %% 700) * interval '1 ms' END",
    }
    columns, values = [], []
    for field in Job._meta.concrete_fields:
        columns.append(field.column)
        if field.name in expressions:
            values.append(expressions[field.name])
        elif field.get_internal_type() == "JSONField":
            values.append("'[]'::jsonb" if field.name == "args" else "'{}'::jsonb")
        elif field.null:
            values.append("NULL")
        elif field.get_internal_type() == "BooleanField":
            values.append("false")
        elif field.get_internal_type() in ("CharField", "TextField"):
            values.append("''")
        else:
            values.append("0")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Job._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM generate_series(1, %s) AS g",
            [rows],
        )
        cursor.execute(f"ANALYZE {Job._meta.db_table}")


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.slow
def test_metrics_of_a_200k_row_ledger_use_the_indexes_and_answer_in_under_a_second(staff_api):
    assert connection.vendor == "postgresql"
    _fill_ledger(200_000)
    now = timezone.now()

    counts_plan = _plan(sql.QUEUE_STATUS_COUNTS, [queues.queue_names()])
    window_plan = _plan(sql.FINISHED_WINDOW, [now - timedelta(hours=1), now, 100_000])

    assert "job_queue_status_created" in counts_plan, counts_plan
    assert "Seq Scan on jobs_job" not in counts_plan, counts_plan
    assert "job_finished_at" in window_plan, window_plan
    assert "Seq Scan on jobs_job" not in window_plan, window_plan

    started = time.perf_counter()
    summary = metrics.activity_summary()
    summary_seconds = time.perf_counter() - started
    started = time.perf_counter()
    failed = selectors.job_list(status=JobStatus.FAILED, limit=50)
    newest = selectors.job_list(limit=50)
    list_seconds = time.perf_counter() - started
    started = time.perf_counter()
    response = staff_api.get("/api/jobs/metrics")
    api_seconds = time.perf_counter() - started

    assert summary["totalJobs"] == 200_000
    assert summary["completedJobs"] == 180_000 and summary["failedJobs"] == 10_000
    assert len(failed) == 50 and all(j.status == JobStatus.FAILED for j in failed)
    assert [j.created_at for j in newest] == sorted((j.created_at for j in newest), reverse=True)
    last_hour = next(q for q in summary["queues"] if q["queueName"] == "default")["lastHour"]
    assert last_hour["completed"] > 0 and last_hour["failed"] > 0
    assert response.status_code == 200
    assert summary_seconds < 1.0, summary_seconds
    assert list_seconds < 0.5, list_seconds
    assert api_seconds < 1.0, api_seconds


def test_autovacuum_visits_the_ledger_after_two_percent_of_it_changed():
    # Index-only counts stay index-only only on pages vacuum has marked all-visible.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [Job._meta.db_table])
        (options,) = cursor.fetchone()

    assert set(options) >= {
        "autovacuum_vacuum_scale_factor=0.02",
        "autovacuum_vacuum_insert_scale_factor=0.02",
        "autovacuum_analyze_scale_factor=0.02",
    }


# --- Prometheus ---------------------------------------------------------------------------
def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_prometheus_metrics_show_queue_gauges_and_duration_histograms(client):
    make_jobs(2, status=JobStatus.WAITING)
    make_job(status=JobStatus.COMPLETED, run_ms=40)
    make_job(status=JobStatus.FAILED, run_ms=2000, queue="tickets.email")
    QueueState.objects.create(name="tickets.email", paused=True)

    response = client.get("/metrics")  # the test client is 127.0.0.1: allowed

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'jobs_queue_jobs{queue="default",status="waiting"} 2.0' in text
    assert 'jobs_queue_jobs{queue="default",status="completed"} 1.0' in text
    assert 'jobs_queue_paused{queue="tickets.email"} 1.0' in text
    assert 'jobs_queue_broker_depth{queue="default"} 0.0' in text
    assert 'jobs_duration_seconds_bucket{le="0.05",queue="default"} 1.0' in text
    assert 'jobs_duration_seconds_bucket{le="1.0",queue="tickets.email"} 0.0' in text
    assert 'jobs_duration_seconds_bucket{le="+Inf",queue="tickets.email"} 1.0' in text
    assert 'jobs_duration_seconds_count{queue="default"} 1.0' in text
    assert 'jobs_queue_failure_rate_last_hour{queue="tickets.email"} 100.0' in text
    assert 'jobs_workers_live{role="main"} 0.0' in text


@pytest.mark.security
def test_prometheus_metrics_outside_the_allow_list_need_staff_credentials(
    client, settings, staff_user, plain_user
):
    settings.JOBS_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]

    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Basic realm="metrics"'
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION=_basic("operator", "operator-password"))
    ).status_code == 200
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION=_basic("operator", "wrong"))
    ).status_code == 401
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION=_basic("customer", "customer-password"))
    ).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic %%%").status_code == 401
    bearer = f"Bearer {access_token(staff_user)}"
    assert client.get("/metrics", HTTP_AUTHORIZATION=bearer).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer junk").status_code == 401
    client.force_login(staff_user)
    assert client.get("/metrics").status_code == 200
    assert client.post("/metrics").status_code == 405
