"""Alert rules of the EVE Nomad job system: a new alert mails the admins once, stays open
(and listed in the health answer) while its condition holds, and is resolved when it clears."""

import json
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from jobs.ledger.workers import STOPPED_WORKER_KEY
from jobs.models import Alert, AlertRule, Job, JobStatus, ScheduleFire, WorkerProcess
from jobs.observability.alerts import alerts_evaluate
from tests.support.ledger_rows import make_jobs
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db


def alert_mails(outbox) -> list:
    return [m for m in outbox if "Alert:" in m.subject]


def open_alerts(rule: str | None = None) -> list[Alert]:
    alerts = Alert.objects.filter(resolved_at=None)
    return list(alerts.filter(rule=rule) if rule else alerts)


# --- the lifecycle, in process -------------------------------------------------------------
def test_backlog_alert_mails_once_while_it_lasts_and_resolves_when_it_clears(settings, mailoutbox):
    settings.JOBS_ALERT_WAITING_THRESHOLD = 3
    jobs = make_jobs(4, status=JobStatus.WAITING, queue="tickets.email")

    first = alerts_evaluate()
    second = alerts_evaluate()

    assert first["opened"] == ["queue_backlog:tickets.email"] and first["mailed"] == 1
    assert second["opened"] == [] and second["mailed"] == 0
    [alert] = open_alerts()
    assert alert.rule == AlertRule.QUEUE_BACKLOG and alert.subject == "tickets.email"
    assert alert.last_seen_at > alert.opened_at
    [mail] = alert_mails(mailoutbox)
    assert "4 jobs are waiting on queue tickets.email" in mail.subject
    assert mail.to == ["admin@localhost"]

    Job.objects.filter(id__in=[j.id for j in jobs[:2]]).update(status=JobStatus.CANCELLED)
    third = alerts_evaluate()

    assert third["resolved"] == 1 and open_alerts() == []
    assert Alert.objects.get(pk=alert.pk).resolved_at is not None
    assert len(alert_mails(mailoutbox)) == 1

    # The same condition coming back later is a new alert, mailed again.
    Job.objects.filter(id__in=[j.id for j in jobs[:2]]).update(status=JobStatus.WAITING)
    assert alerts_evaluate()["opened"] == ["queue_backlog:tickets.email"]
    assert len(alert_mails(mailoutbox)) == 2


def test_failure_rate_alert_needs_the_minimum_sample(settings, mailoutbox):
    settings.JOBS_ALERT_MIN_SAMPLE = 10
    make_jobs(5, status=JobStatus.FAILED)
    make_jobs(3, status=JobStatus.COMPLETED)
    # Failures older than an hour do not count.
    make_jobs(20, status=JobStatus.FAILED, finished_ago=timedelta(hours=2))

    assert alerts_evaluate()["opened"] == []

    make_jobs(2, status=JobStatus.FAILED)
    assert alerts_evaluate()["opened"] == ["failure_rate:default"]
    [alert] = open_alerts(AlertRule.FAILURE_RATE)
    assert alert.details["failureRate"] == 70.0
    assert "70.0% of the jobs on queue default failed" in alert_mails(mailoutbox)[0].subject


def test_failure_rate_at_or_below_ten_percent_is_no_alert(mailoutbox):
    make_jobs(2, status=JobStatus.FAILED)
    make_jobs(18, status=JobStatus.COMPLETED)

    assert alerts_evaluate()["opened"] == []


def test_slow_processing_alert_compares_the_last_hour_with_the_day_before(mailoutbox):
    make_jobs(15, status=JobStatus.COMPLETED, run_ms=100, finished_ago=timedelta(hours=5))
    make_jobs(12, status=JobStatus.COMPLETED, run_ms=180)

    assert alerts_evaluate()["opened"] == []  # 1.8x the baseline
    cache.clear()  # the baseline is cached for a few minutes

    make_jobs(12, status=JobStatus.COMPLETED, run_ms=900)
    assert alerts_evaluate()["opened"] == ["slow_processing:default"]
    [alert] = open_alerts(AlertRule.SLOW_PROCESSING)
    assert alert.details["baseline"] == pytest.approx(100, abs=1)
    assert alert.details["avgProcessingTime"] == pytest.approx(540, abs=1)


def test_worker_down_alert_for_a_silent_main_process_but_not_a_clean_shutdown(settings):
    now = timezone.now()
    for name, role, ago in [
        ("host-a:100", "main", 60),  # died a minute ago
        ("host-b:200", "main", 60),  # stopped cleanly a minute ago
        ("host-c:300", "child", 60),  # pool processes are not workers
        ("host-d:400", "main", 2),  # alive
        ("host-e:500", "main", 3 * 3600),  # long gone: outside the window
    ]:
        WorkerProcess.objects.create(
            name=name,
            hostname=name.split(":")[0],
            pid=int(name.split(":")[1]),
            role=role,
            started_at=now - timedelta(hours=5),
            last_seen=now - timedelta(seconds=ago),
        )
    cache.set(STOPPED_WORKER_KEY.format(name="host-b:200"), True, 60)

    assert alerts_evaluate()["opened"] == ["worker_down:host-a:100"]

    WorkerProcess.objects.filter(name="host-a:100").update(last_seen=timezone.now())
    assert alerts_evaluate()["resolved"] == 1


def test_missed_schedule_alert_until_the_slot_fires(settings):
    crontab = CrontabSchedule.objects.create(minute="*", hour="*", timezone="UTC")
    task = PeriodicTask.objects.create(
        name="reports.every-minute", task="jobs.noop", crontab=crontab, kwargs=json.dumps({})
    )
    PeriodicTask.objects.filter(pk=task.pk).update(date_changed=timezone.now() - timedelta(hours=1))

    assert alerts_evaluate()["opened"] == ["schedule_missed:reports.every-minute"]
    [alert] = open_alerts(AlertRule.SCHEDULE_MISSED)

    ScheduleFire.objects.create(
        schedule="reports.every-minute",
        slot=timezone.datetime.fromisoformat(alert.details["slot"]),
        fired_at=timezone.now(),
    )
    # Fire the newer slots too, as a running beat would have.
    for minutes in range(1, 5):
        slot = timezone.datetime.fromisoformat(alert.details["slot"]) + timedelta(minutes=minutes)
        ScheduleFire.objects.get_or_create(
            schedule="reports.every-minute", slot=slot, defaults={"fired_at": timezone.now()}
        )
    assert alerts_evaluate()["resolved"] == 1


def test_a_failed_mail_is_sent_by_the_next_evaluation(settings, mailoutbox):
    settings.JOBS_ALERT_WAITING_THRESHOLD = 1
    make_jobs(2, status=JobStatus.WAITING)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1

    assert alerts_evaluate()["mailed"] == 0
    assert open_alerts()[0].notified_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert alerts_evaluate()["mailed"] == 1
    assert alerts_evaluate()["mailed"] == 0


def test_only_one_open_alert_per_rule_and_subject():
    now = timezone.now()
    fields = {"rule": "queue_backlog", "subject": "default", "message": "m", "last_seen_at": now}
    Alert.objects.create(opened_at=now, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(opened_at=now, **fields)
    Alert.objects.update(resolved_at=now)
    Alert.objects.create(opened_at=now, **fields)  # resolved ones do not count


# --- end to end: the scheduled task on a real worker ----------------------------------------
@pytest.mark.integration
def test_alert_end_to_end_one_email_listed_in_health_then_cleared(
    worker, worker_mailbox, staff_api
):
    from jobs.tasks import evaluate_alerts

    # Given: 3 of 4 jobs on tickets.email failed in the last hour (with enough of them).
    make_jobs(24, status=JobStatus.FAILED, queue="tickets.email", error="SMTPError")
    make_jobs(8, status=JobStatus.COMPLETED, queue="tickets.email")

    # When the scheduled evaluation runs, twice.
    first = evaluate_alerts.delay().get(timeout=30)
    second = evaluate_alerts.delay().get(timeout=30)

    # Then one email, and the alert is listed in the health answer.
    assert first["opened"] == ["failure_rate:tickets.email"] and first["mailed"] == 1
    assert second["opened"] == [] and second["mailed"] == 0
    subjects = [s for s in worker_mailbox.subjects() if "Alert:" in s]
    assert len(subjects) == 1 and "75.0% of the jobs on queue tickets.email" in subjects[0]
    health = staff_api.get("/api/jobs/health").json()
    assert health["healthy"] is False
    assert [(a["rule"], a["subject"]) for a in health["alerts"]] == [
        ("failure_rate", "tickets.email")
    ]
    assert any("tickets.email failure rate" in i for i in health["queues"]["issues"])

    # When the failures are dealt with, the next evaluation clears the alert.
    staff_api.post("/api/jobs/failed/clear", {"queue": "tickets.email"}, format="json")
    third = evaluate_alerts.delay().get(timeout=30)

    assert third["resolved"] == 1 and third["open"] == 0
    assert staff_api.get("/api/jobs/health").json()["alerts"] == []
    assert Alert.objects.get().resolved_at is not None
    assert len([s for s in worker_mailbox.subjects() if "Alert:" in s]) == 1


@pytest.mark.integration
def test_killed_worker_raises_worker_down_but_a_stopped_one_does_not(start_worker, settings):
    killed = start_worker("doomed", queues=["default"], wait=False)
    stopped = start_worker("retired", queues=["default"], wait=False)
    killed.wait_ready(), stopped.wait_ready()
    mains = wait_for(
        lambda: (
            (rows := list(WorkerProcess.objects.filter(role="main"))) and len(rows) == 2 and rows
        )
    )
    by_pid = {w.pid: w.name for w in mains}

    killed.kill()
    stopped.stop()
    settings.JOBS_HEARTBEAT_TIMEOUT = 2
    time.sleep(3)

    outcome = alerts_evaluate()

    assert outcome["opened"] == [f"worker_down:{by_pid[killed.proc.pid]}"]
    assert by_pid[stopped.proc.pid] not in {a.subject for a in open_alerts()}
