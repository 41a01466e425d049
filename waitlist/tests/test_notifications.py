"""Sending notifications: templates, retry policy, failure, manual retry."""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from jobs import assert_enqueued, run_enqueued_jobs
from waitlist import services, tasks
from waitlist.errors import NotificationTemporaryFailure, WaitlistError
from waitlist.models import (
    AuditLog,
    Channel,
    HoldStatus,
    NotificationKind,
    NotificationStatus,
)
from waitlist.tests.email_backends import recorded_mail
from waitlist.tests.factories import EntryFactory, HoldFactory, NotificationFactory, SlotFactory
from waitlist.tests.ledger import Job, enqueued

pytestmark = pytest.mark.django_db


def offer_notification(tenant, email="ann@example.test", **kwargs):
    entry = EntryFactory(tenant=tenant, email=email, name="Ann")
    hold = HoldFactory(slot=SlotFactory(tenant=tenant, title="Table by the window"), entry=entry)
    return NotificationFactory(hold=hold, **kwargs)


def send(notification, attempt=1, final=False):
    return services.notification_send(
        notification_id=notification.pk, attempt=attempt, final_attempt=final
    )


def test_offer_email_has_text_and_html_with_confirm_and_decline_links(tenant, mailoutbox):
    notification = offer_notification(tenant)

    result = send(notification)

    assert result["outcome"] == "sent"
    (message,) = mailoutbox
    assert message.to == ["ann@example.test"]
    assert tenant.name in message.subject and "Table by the window" in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    for body in (message.body, html):
        assert f"/waitlist/{tenant.slug}/offers/confirm/" in body
        assert f"/waitlist/{tenant.slug}/offers/decline/" in body
    assert "Hi Ann" in message.body and "15 minutes" in message.body
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1 and notification.sent_at is not None
    assert notification.subject == message.subject
    assert AuditLog.objects.filter(action="notification.sent", object_id=notification.pk).exists()


def test_booking_confirmation_email(tenant, mailoutbox):
    notification = offer_notification(tenant, kind=NotificationKind.BOOKED)
    notification.hold.status = HoldStatus.CONFIRMED
    notification.hold.save()

    send(notification)

    (message,) = mailoutbox
    assert "booked" in message.subject
    assert "confirm" not in message.body.lower().replace("confirmation", "")


def test_a_sent_notification_is_not_sent_again(tenant, mailoutbox):
    notification = offer_notification(tenant)
    send(notification)

    assert send(notification)["outcome"] == "already_sent"
    assert len(mailoutbox) == 1


def test_transient_failure_is_recorded_and_raised_for_a_retry(tenant, recording_backend):
    notification = offer_notification(tenant, email="flaky1@example.test")

    with pytest.raises(NotificationTemporaryFailure):
        send(notification, attempt=1, final=False)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert notification.attempts == 1
    assert "SMTPServerDisconnected" in notification.last_error
    assert AuditLog.objects.filter(action="notification.attempt_failed").exists()
    # The next attempt goes through.
    assert send(notification, attempt=2)["outcome"] == "sent"
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 2)
    assert [m["to"] for m in recorded_mail()] == [["flaky1@example.test"]]


def test_final_transient_failure_marks_the_notification_failed_and_audits_it(
    tenant, recording_backend
):
    notification = offer_notification(tenant, email="flaky9@example.test")

    with pytest.raises(NotificationTemporaryFailure):
        send(notification, attempt=4, final=True)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    audit = AuditLog.objects.get(action="notification.failed")
    assert audit.data["attempt"] == 4 and audit.data["to"] == "failed"


def test_permanent_failure_is_not_retried(tenant, recording_backend):
    notification = offer_notification(tenant, email="refused@example.test")

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(notification, attempt=1, final=False)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert "SMTPRecipientsRefused" in notification.last_error


def test_an_offer_that_closed_before_sending_is_skipped(tenant, mailoutbox):
    notification = offer_notification(tenant)
    notification.hold.status = HoldStatus.EXPIRED
    notification.hold.save()

    assert send(notification)["outcome"] == "skipped"

    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SKIPPED


def test_an_offer_past_its_expiry_is_skipped_even_before_the_sweep(tenant, mailoutbox):
    notification = offer_notification(tenant)
    later = timezone.now() + timedelta(hours=1)

    services.notification_send(notification_id=notification.pk, now=later)

    assert mailoutbox == []


def test_sms_and_whatsapp_are_allowed_but_not_sent_yet(tenant, mailoutbox):
    notification = offer_notification(tenant, channel=Channel.SMS)

    assert send(notification)["outcome"] == "skipped"

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SKIPPED
    assert "not supported" in notification.last_error
    assert mailoutbox == []


def test_send_job_retries_after_1_2_and_4_seconds_at_most_3_times():
    task = tasks.send_notification
    assert task.name == "waitlist.send_notification"
    assert task.job_queue == "waitlist.notifications"
    assert task.max_attempts == 4  # the first send and three retries
    assert [task.backoff.seconds(n) for n in (1, 2, 3)] == [1, 2, 4]
    assert NotificationTemporaryFailure in task.retry_for
    assert Exception not in task.retry_for


def test_the_send_job_retries_a_transient_failure_after_1_then_2_seconds_then_sends(
    tenant, recording_backend
):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        start = timezone.now()
        notification = offer_notification(tenant, email="flaky2@example.test")
        services.notification_enqueue(notification=notification)
        (job,) = assert_enqueued(
            task=tasks.send_notification, kwargs={"notification_id": notification.pk}
        )

        # Each run is the ledger's own attempt: a transient failure is retried with the
        # task's backoff, written in the job row, and is not due before it.
        assert run_enqueued_jobs().counts == {"retried": 1}
        job.refresh_from_db()
        assert (job.status, job.attempts) == ("delayed", 1)
        assert job.scheduled_for == start + timedelta(seconds=1)
        clock.shift(timedelta(seconds=1))
        assert run_enqueued_jobs().counts == {"retried": 1}
        job.refresh_from_db()
        assert job.scheduled_for == start + timedelta(seconds=1 + 2)
        clock.shift(timedelta(seconds=2))
        assert run_enqueued_jobs().counts == {"completed": 1}

    job.refresh_from_db()
    assert (job.status, job.attempts) == ("completed", 3)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 3)
    assert [m["to"] for m in recorded_mail()] == [["flaky2@example.test"]]


def test_manual_retry_requeues_a_failed_notification_once(tenant):
    notification = offer_notification(tenant, status=NotificationStatus.FAILED)

    first = services.notification_retry(notification=notification, actor=services.SYSTEM)
    second = services.notification_retry(notification=notification, actor=services.SYSTEM)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert first.created and not second.created
    assert first.id == second.id
    job = enqueued("waitlist.send_notification").get()
    assert job.status == "waiting" and job.max_attempts == 4
    assert AuditLog.objects.filter(action="notification.requeued").count() == 1


@pytest.mark.parametrize("status", [NotificationStatus.SENT, NotificationStatus.SKIPPED])
def test_manual_retry_refuses_a_delivered_or_skipped_notification(tenant, status):
    notification = offer_notification(tenant, status=status)

    with pytest.raises(WaitlistError) as raised:
        services.notification_retry(notification=notification, actor=services.SYSTEM)

    assert raised.value.field == "notification_id"
    assert not Job.objects.exists()
