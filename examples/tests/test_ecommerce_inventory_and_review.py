"""The e-commerce inventory-release queue (8 concurrent, 3 attempts: stock given back on a
payment's final failure or an order's cancellation) and manual-review queue (1 concurrent,
admin-driven: high-value orders over 50,000, suspicious payment patterns, return requests),
on a real worker for the two flows and through the ledger in process for the rest."""

import pytest
from django.db import OperationalError
from django.urls import reverse

from examples.ecommerce import INVENTORY_QUEUE, MANUAL_REVIEW_QUEUE
from examples.ecommerce.models import InventoryReservation, Order, ReviewItem, StockItem
from examples.ecommerce.services import (
    SUSPICIOUS_FAILED_PAYMENTS,
    auto_cancel_key,
    inventory_release,
    inventory_release_queue,
    order_cancel,
    order_place,
    payment_webhook_receive,
    return_request,
    review_decide,
)
from examples.ecommerce.tasks import (
    auto_cancel_order,
    open_review,
    process_payment_webhook,
    release_inventory,
    retry_payment_capture,
)
from examples.tests.ledger import Job
from jobs import ConflictError, InvalidInput, assert_enqueued, job_run_now, run_enqueued_jobs
from tests.support.waiting import wait_for


def available(sku: str) -> int:
    return StockItem.objects.get(sku=sku).available


@pytest.fixture
def stock(db):
    StockItem.objects.create(sku="LAPTOP", available=10)
    StockItem.objects.create(sku="MOUSE", available=50)


# --- on a real worker -------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_cancelled_order_gives_its_stock_back_through_the_inventory_release_queue(
    stock, examples_worker
):
    order = order_place(
        email="ann@example.test", total="900.00", number="I-1", items={"LAPTOP": 3, "MOUSE": 2}
    )
    assert (available("LAPTOP"), available("MOUSE")) == (7, 48)
    [cancel] = assert_enqueued(task=auto_cancel_order, job_key=auto_cancel_key(order.pk))

    assert job_run_now(job_id=str(cancel.id))  # the hour is up

    wait_for(lambda: available("LAPTOP") == 10 and available("MOUSE") == 50)
    release = Job.objects.get(task=release_inventory.name)
    wait_for(lambda: Job.objects.get(id=release.id).status == "completed")
    release.refresh_from_db()
    assert (release.queue, release.max_attempts) == (INVENTORY_QUEUE, 3)
    assert release.result == {"order_id": order.pk, "released": 5, "reason": "order_cancelled"}
    assert set(InventoryReservation.objects.values_list("status", "release_reason")) == {
        ("released", "order_cancelled")
    }


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_high_value_order_waits_for_an_admin_whose_rejection_releases_its_stock(
    stock, examples_worker, worker_mailbox
):
    order = order_place(
        email="raj@example.test", total="50000.01", number="I-2", items={"LAPTOP": 4}
    )
    order_place(email="sam@example.test", total="50000.00", number="I-3")  # not above 50,000

    wait_for(lambda: ReviewItem.objects.filter(order=order).exists())
    [review] = ReviewItem.objects.all()
    assert (review.kind, review.status) == ("high_value", "pending")
    job = Job.objects.get(task=open_review.name)
    assert (job.queue, job.max_attempts) == (MANUAL_REVIEW_QUEUE, 1)
    wait_for(lambda: any("Manual review" in str(m["Subject"]) for m in worker_mailbox.messages()))

    review_decide(review_id=review.pk, approve=False, by="admin")

    wait_for(lambda: available("LAPTOP") == 10)
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    with pytest.raises(ConflictError):
        review_decide(review_id=review.pk, approve=True, by="admin")


# --- through the ledger, in process ------------------------------------------------------------
@pytest.mark.django_db
def test_a_payment_that_fails_for_good_releases_the_orders_stock(stock):
    order = order_place(email="ann@example.test", total="99.00", number="I-4", items={"MOUSE": 5})
    Order.objects.filter(pk=order.pk).update(gateway_declines=3)
    payment_webhook_receive(
        provider="razorpay", event_id="pay_1", kind="payment.failed", order_number="I-4"
    )
    run_enqueued_jobs(task=process_payment_webhook)

    # Three declines, an hour apart: the last one is the payment's failure for good.
    run_enqueued_jobs(task=retry_payment_capture, include_delayed=True)
    [retry] = Job.objects.filter(task=retry_payment_capture.name)
    assert (retry.status, retry.attempts) == ("failed", 3)
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    [release] = assert_enqueued(task=release_inventory)
    assert release.kwargs == {"order_id": order.pk, "reason": "payment_failed"}

    run_enqueued_jobs(task=release_inventory)

    assert available("MOUSE") == 50
    assert InventoryReservation.objects.get().release_reason == "payment_failed"


@pytest.mark.django_db
def test_stock_is_released_once_whatever_runs_twice(stock):
    order = order_place(email="ann@example.test", total="10.00", number="I-5", items={"MOUSE": 4})

    assert order_cancel(order_id=order.pk) and not order_cancel(order_id=order.pk)
    # One live release job per order (job_key), and the release itself is guarded.
    assert len(assert_enqueued(task=release_inventory)) == 1
    run_enqueued_jobs(task=release_inventory)
    assert inventory_release(order_id=order.pk, reason="order_cancelled")["released"] == 0
    assert available("MOUSE") == 50
    # Only the database's transient errors are retried; a made-up reason is refused at once.
    assert OperationalError in release_inventory.retry_for
    assert Exception not in release_inventory.retry_for
    with pytest.raises(InvalidInput) as refused:
        inventory_release_queue(order_id=order.pk, reason="whim")
    assert refused.value.field == "reason"


@pytest.mark.django_db
def test_an_order_without_the_stock_is_refused_naming_items(stock):
    with pytest.raises(InvalidInput) as refused:
        order_place(email="a@example.test", total="1.00", items={"MOUSE": 1, "LAPTOP": 11})

    assert refused.value.field == "items"
    assert not Order.objects.exists() and available("MOUSE") == 50


@pytest.mark.django_db
def test_suspicious_payments_and_return_requests_go_to_manual_review(stock, mailoutbox):
    order = order_place(email="ann@example.test", total="10.00", number="I-6")
    for n in range(SUSPICIOUS_FAILED_PAYMENTS):
        payment_webhook_receive(
            provider="stripe", event_id=f"evt_f{n}", kind="payment.failed", order_number="I-6"
        )
        run_enqueued_jobs(task=process_payment_webhook)
    paid = order_place(email="bob@example.test", total="20.00", number="I-7")
    Order.objects.filter(pk=paid.pk).update(status="paid")
    paid.refresh_from_db()

    return_request(order=paid, reason="wrong size")
    with pytest.raises(ConflictError):
        return_request(order=order, reason="never paid")
    reviews = assert_enqueued(task=open_review, queue=MANUAL_REVIEW_QUEUE)
    run_enqueued_jobs(task=open_review)
    run_enqueued_jobs(task=open_review)  # nothing left: each review is asked once

    assert len(reviews) == 2
    assert set(ReviewItem.objects.values_list("order__number", "kind", "status")) == {
        ("I-6", "suspicious_payment", "pending"),
        ("I-7", "return_request", "pending"),
    }
    assert len(mailoutbox) == 2
    approved = review_decide(
        review_id=ReviewItem.objects.get(kind="return_request").pk, approve=True, by="admin"
    )
    assert approved.status == "approved" and approved.decided_by == "admin"


@pytest.mark.django_db
def test_an_admin_rejects_a_high_value_order_in_django_admin(stock, admin_client):
    order = order_place(
        email="raj@example.test", total="75000.00", number="I-8", items={"LAPTOP": 2}
    )
    run_enqueued_jobs(task=open_review)
    review = ReviewItem.objects.get(order=order)
    changelist = reverse("admin:examples_reviewitem_changelist")

    page = admin_client.get(changelist)
    reject = admin_client.post(
        changelist, {"action": "reject", "_selected_action": [review.pk]}, follow=True
    )

    assert page.status_code == 200 and "High-value order" in page.text
    assert "Rejected: 1." in reject.text
    review.refresh_from_db()
    assert (review.status, review.decided_by) == ("rejected", "admin")
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    run_enqueued_jobs(task=release_inventory)
    assert available("LAPTOP") == 10
