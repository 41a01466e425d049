"""The generic JobService's documented usage: the EmailService, the typed report job and the
JobMonitor, on a real worker for the key flows and through the ledger in process for the
rest."""

from datetime import timedelta

import pytest
from django.utils import timezone
from pydantic import ValidationError

from examples.job_service import QUEUE
from examples.job_service.models import Report
from examples.job_service.monitor import failed_jobs_retry
from examples.job_service.selectors import active_jobs_list, failed_jobs_list, job_status_get
from examples.job_service.services import (
    promotion_emails_schedule,
    report_schedule,
    welcome_email_schedule,
)
from examples.job_service.tasks import generate_report, send_email
from examples.tests.ledger import Job
from jobs import NotFoundError, assert_enqueued, job_run_now, run_enqueued_jobs
from tests.support.waiting import wait_for


# --- on a real worker -------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_welcome_email_waits_a_minute_then_a_worker_sends_it(examples_worker, worker_mailbox):
    job_id = welcome_email_schedule(user_id="u-1", email="ann@example.test")

    job = Job.objects.get(id=job_id)
    assert job.status == "delayed" and job.queue == QUEUE
    assert job.priority_name == "NORMAL" and job.max_attempts == 4
    assert timedelta(seconds=55) < job.scheduled_for - job.created_at <= timedelta(seconds=61)
    assert job_status_get(job_id=job_id) == "delayed"

    # Not a minute of waiting in a test: the delayed job is made due now, as an operator's
    # "run now" does; the worker then takes it.
    assert job_run_now(job_id=job_id)
    wait_for(lambda: job_status_get(job_id=job_id) == "completed")

    [mail] = worker_mailbox.messages()
    assert mail["To"] == "ann@example.test" and mail["Subject"] == "Welcome aboard"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_bulk_promotion_and_a_typed_report_run_on_a_worker(examples_worker, worker_mailbox):
    emails = [f"buyer{i}@example.test" for i in range(5)]

    job_ids = promotion_emails_schedule(emails=emails)
    report_id = report_schedule(report_type="billing", user_id="u-9", parameters={"month": 11})

    assert len(job_ids) == 5
    wait_for(lambda: all(job_status_get(job_id=j) == "completed" for j in [*job_ids, report_id]))
    assert sorted(m["To"] for m in worker_mailbox.messages()) == sorted(emails)
    report = Report.objects.get(job_id=report_id)
    assert (report.report_type, report.user_id, report.parameters) == (
        "billing",
        "u-9",
        {"month": 11},
    )
    assert Job.objects.get(id=report_id).result == {"report_id": report.pk, "rows": 1}


# --- through the ledger, in process ------------------------------------------------------------
@pytest.mark.django_db
def test_a_report_with_the_wrong_type_is_refused_before_it_is_queued():
    with pytest.raises(ValidationError):
        report_schedule(report_type="astrology", user_id="u-1", parameters={})
    assert not Job.objects.filter(task=generate_report.name).exists()


@pytest.mark.django_db
def test_smtp_outage_fails_after_3_retries_then_the_monitor_retries_the_failed_jobs(
    smtp_down, settings, mailoutbox
):
    promotion_emails_schedule(emails=["a@example.test", "b@example.test"])

    # Retries are a minute apart; include_delayed runs them without waiting.
    summary = run_enqueued_jobs(task=send_email, include_delayed=True)

    assert summary.failed == 2 and summary.retried == 6  # 4 attempts each
    failed = failed_jobs_list()
    assert {job["data"]["recipient"] for job in failed} == {"a@example.test", "b@example.test"}
    assert all(job["attempts"] == 4 and "SMTPServerDisconnected" in job["error"] for job in failed)
    assert active_jobs_list() == []

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert failed_jobs_retry() == 2
    assert failed_jobs_list() == []
    assert run_enqueued_jobs(task=send_email).completed == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["a@example.test", "b@example.test"]


@pytest.mark.django_db
def test_retries_wait_a_minute_each(smtp_down):
    job_id = welcome_email_schedule(user_id="u-1", email="ann@example.test")

    run_enqueued_jobs(task=send_email, include_delayed=True, limit=1)

    job = Job.objects.get(id=job_id)
    assert job.status == "delayed" and job.attempts == 1
    wait = job.scheduled_for - timezone.now()
    assert timedelta(seconds=55) < wait <= timedelta(seconds=60)


@pytest.mark.django_db
def test_schedule_many_and_status_reads():
    ids = promotion_emails_schedule(emails=["x@example.test", "y@example.test"])

    for job_id in ids:
        assert job_status_get(job_id=job_id) == "waiting"
    assert_enqueued(
        task=send_email, kwargs={"template": "promotion", "recipient": "x@example.test"}
    )
    with pytest.raises(NotFoundError):
        job_status_get(job_id="0190a0a0-0000-7000-8000-000000000000")
