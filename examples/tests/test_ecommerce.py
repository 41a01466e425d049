"""The e-commerce queues' documented usage, on a real worker for the order and payment flow
and through the ledger in process for the retry, retention and reporting details."""

from datetime import timedelta

import pytest
from django.utils import timezone

from examples.ecommerce import EMAIL_QUEUE, ORDER_QUEUE
from examples.ecommerce.models import Order, PaymentEvent, StockSync
from examples.ecommerce.selectors import (
    email_queue_counts,
    email_queue_failed,
    job_progress,
    orders_daily_report,
)
from examples.ecommerce.services import (
    auto_cancel_key,
    email_queue_clean,
    email_queue_limit_apply,
    order_place,
    payment_webhook_receive,
    shipping_notification_send,
)
from examples.ecommerce.tasks import (
    auto_cancel_order,
    daily_report,
    generate_invoice,
    process_payment_webhook,
    retry_payment_capture,
    send_order_email,
    stock_sync,
)
from examples.tests.ledger import Job, QueueState
from jobs import assert_enqueued, job_run_now, run_enqueued_jobs
from tests.support.waiting import wait_for


def subjects(mailbox) -> list[str]:
    return sorted(str(m["Subject"]).split(":")[0] for m in mailbox.messages())


# --- on a real worker -------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_payment_webhook_pays_the_order_and_removes_its_auto_cancel(
    examples_worker, worker_mailbox
):
    order = order_place(email="ann@example.test", total="120.00", number="A-1001")
    [cancel] = assert_enqueued(task=auto_cancel_order, job_key=auto_cancel_key(order.pk))
    assert cancel.status == "delayed"
    assert timedelta(minutes=59) < cancel.scheduled_for - cancel.created_at <= timedelta(hours=1)

    job_id, created = payment_webhook_receive(
        provider="stripe", event_id="evt_1", kind="payment.succeeded", order_number="A-1001"
    )
    # The provider sends the same event again while the first is being processed.
    again_id, again_created = payment_webhook_receive(
        provider="stripe", event_id="evt_1", kind="payment.succeeded", order_number="A-1001"
    )

    assert created and (again_id, again_created) == (job_id, False)
    wait_for(lambda: Order.objects.get(pk=order.pk).invoice_number == "INV-A-1001")
    order.refresh_from_db()
    assert order.status == "paid" and PaymentEvent.objects.count() == 1
    assert Job.objects.get(id=cancel.id).status == "cancelled"
    invoice = Job.objects.get(task=generate_invoice.name)
    wait_for(lambda: job_progress(job_id=str(invoice.id)) == 100)
    wait_for(lambda: len(worker_mailbox.messages()) == 2)
    assert subjects(worker_mailbox) == ["Order Confirmed", "Payment received"]
    # removeOnComplete: true — the sent emails' jobs are gone from the ledger.
    wait_for(lambda: not Job.objects.filter(task=send_order_email.name).exists())


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_unpaid_order_is_cancelled_by_its_delayed_job(examples_worker, worker_mailbox):
    order = order_place(email="bob@example.test", total="15.00", number="A-1002")
    [cancel] = assert_enqueued(task=auto_cancel_order, job_key=auto_cancel_key(order.pk))

    # The hour is up (made due now rather than waited for).
    assert job_run_now(job_id=str(cancel.id))

    wait_for(lambda: Order.objects.get(pk=order.pk).status == "cancelled")
    wait_for(lambda: len(worker_mailbox.messages()) == 2)
    assert subjects(worker_mailbox) == ["Order Confirmed", "Order cancelled"]
    # A payment arriving after the cancel does not pay the cancelled order.
    payment_webhook_receive(
        provider="razorpay", event_id="pay_9", kind="payment.succeeded", order_number="A-1002"
    )
    wait_for(lambda: PaymentEvent.objects.filter(event_id="pay_9").exists())
    assert Order.objects.get(pk=order.pk).status == "cancelled"


# --- through the ledger, in process ------------------------------------------------------------
@pytest.mark.django_db
def test_order_email_is_tried_3_times_2_then_4_seconds_apart_and_kept_when_failed(smtp_down):
    order_place(email="ann@example.test", total="10.00", number="A-1")
    [email] = assert_enqueued(task=send_order_email)
    assert email.queue == EMAIL_QUEUE and email.max_attempts == 3

    waits = []
    for _ in range(2):
        run_enqueued_jobs(task=send_order_email, include_delayed=True, limit=1)
        email.refresh_from_db()
        waits.append((email.scheduled_for - timezone.now()).total_seconds())
    run_enqueued_jobs(task=send_order_email, include_delayed=True, limit=1)

    assert 1.5 < waits[0] <= 2 and 3.5 < waits[1] <= 4
    email.refresh_from_db()
    assert email.status == "failed" and email.attempts == 3
    # removeOnFail: false — the failed job stays for inspection (getFailed).
    [failed] = email_queue_failed()
    assert failed["attemptsMade"] == 3 and "SMTPServerDisconnected" in failed["failedReason"]
    assert failed["data"] == {
        "order_id": email.kwargs["order_id"],
        "template": "order_confirmation",
    }
    assert email_queue_counts()["failed"] == 1


@pytest.mark.django_db
def test_a_webhook_event_is_processed_once_within_the_dedupe_window():
    order_place(email="ann@example.test", total="10.00", number="A-2")
    job_id, _ = payment_webhook_receive(
        provider="stripe", event_id="evt_2", kind="payment.succeeded", order_number="A-2"
    )
    run_enqueued_jobs(task=process_payment_webhook)

    # The provider retries its delivery after the job completed: within the window the
    # completed job is the answer, no second job is made.
    again_id, created = payment_webhook_receive(
        provider="stripe", event_id="evt_2", kind="payment.succeeded", order_number="A-2"
    )

    assert (again_id, created) == (job_id, False)
    job = Job.objects.get(id=job_id)
    assert job.status == "completed" and job.max_attempts == 5
    assert job.queue == "examples.payment-webhooks"
    assert PaymentEvent.objects.filter(event_id="evt_2").count() == 1


@pytest.mark.django_db
def test_a_declined_payment_is_retried_an_hour_later_up_to_3_times():
    order = order_place(email="ann@example.test", total="99.00", number="A-3")
    Order.objects.filter(pk=order.pk).update(gateway_declines=2)
    payment_webhook_receive(
        provider="stripe", event_id="evt_3", kind="payment.failed", order_number="A-3"
    )
    run_enqueued_jobs(task=process_payment_webhook)
    [retry] = assert_enqueued(task=retry_payment_capture)

    run_enqueued_jobs(task=retry_payment_capture, include_delayed=True, limit=1)
    retry.refresh_from_db()
    assert retry.status == "delayed" and retry.max_attempts == 3
    wait = retry.scheduled_for - timezone.now()
    assert timedelta(minutes=59) < wait <= timedelta(hours=1)

    run_enqueued_jobs(task=retry_payment_capture, include_delayed=True)

    retry.refresh_from_db()
    order.refresh_from_db()
    assert retry.status == "completed" and retry.attempts == 3
    assert order.status == "paid" and order.capture_attempts == 3


@pytest.mark.django_db
def test_invoice_progress_and_removal_policies():
    order = order_place(email="ann@example.test", total="10.00", number="A-4")
    notice_id = shipping_notification_send(order=order)
    Order.objects.filter(pk=order.pk).update(status="paid")
    invoice = generate_invoice.apply_async(kwargs={"order_id": order.pk})

    run_enqueued_jobs(queue=ORDER_QUEUE, task=generate_invoice)
    run_enqueued_jobs(task=send_order_email)

    assert job_progress(job_id=invoice.id) == 100
    assert Order.objects.get(pk=order.pk).invoice_number == "INV-A-4"
    # removeOnComplete: true removed the confirmation at once; {age: 86400, count: 1000}
    # keeps the shipping notice for a day.
    notice = Job.objects.get(id=notice_id)
    assert notice.status == "completed"
    assert notice.remove_on_complete == {"age": 86400, "count": 1000}
    assert list(Job.objects.filter(task=send_order_email.name).values_list("id", flat=True)) == [
        notice.id
    ]
    # clean(0, 0, 'completed') removes it by hand.
    assert email_queue_clean() == {"completed": 1, "failed": 0}
    assert not Job.objects.filter(id=notice_id).exists()


@pytest.mark.django_db
def test_the_email_queue_is_limited_to_100_jobs_a_second():
    email_queue_limit_apply()
    email_queue_limit_apply()

    state = QueueState.objects.get(name=EMAIL_QUEUE)
    assert (state.rate_limit_max, state.rate_limit_duration_ms) == (100, 1000)


@pytest.mark.django_db
def test_daily_report_and_hourly_stock_sync_jobs():
    order_place(email="a@example.test", total="1.00", number="R-1")
    paid = order_place(email="b@example.test", total="2.00", number="R-2")
    Order.objects.filter(pk=paid.pk).update(status="paid")
    assert orders_daily_report() == {"paid": 1, "pending": 1}

    report = daily_report.apply_async()
    sync = stock_sync.apply_async()
    run_enqueued_jobs(task=daily_report)
    run_enqueued_jobs(task=stock_sync)

    assert Job.objects.get(id=report.id).result == {"paid": 1, "pending": 1}
    assert Job.objects.get(id=sync.id).status == "completed"
    assert StockSync.objects.get().products == 2
