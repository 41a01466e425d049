"""The e-commerce services: they place orders and take payments, and enqueue the jobs the
source's producers added to their BullMQ queues."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import (
    ConflictError,
    InvalidInput,
    PermanentError,
    job_cancel,
    job_clean,
    queue_set_rate_limit,
)

from . import EMAIL_QUEUE
from .errors import GatewayUnavailable
from .models import (
    InventoryReservation,
    Order,
    OrderStatus,
    PaymentEvent,
    ReleaseReason,
    ReservationStatus,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    StockItem,
    StockSync,
)
from .tasks import (
    auto_cancel_order,
    generate_invoice,
    open_review,
    process_payment_webhook,
    release_inventory,
    retry_payment_capture,
    send_order_email,
)

AUTO_CANCEL_AFTER = timedelta(hours=1)
# How long a provider's event id stays claimed after its job completed: a provider resending
# the same event within a day finds the job already made (BullMQ's deduplication ttl).
WEBHOOK_DEDUPE_WINDOW = 24 * 3600
# BullMQ's removeOnComplete: {age: 86400, count: 1000}.
KEEP_COMPLETED = {"age": 24 * 3600, "count": 1000}
SUBJECTS = {
    "order_confirmation": "Order Confirmed",
    "payment_received": "Payment received",
    "order_cancelled": "Order cancelled",
    "shipping_notification": "Your order has shipped",
}


# "High-value order review (> ₹50,000)": strictly above.
HIGH_VALUE_ABOVE = Decimal("50000")
# The document names "suspicious payment patterns" without a number: here, an order whose
# payment failed this many times (separate provider events) goes to review.
SUSPICIOUS_FAILED_PAYMENTS = 3


def auto_cancel_key(order_id: int) -> str:
    """The delayed job's ``jobId``: ``cancel-<order id>``."""
    return f"cancel-{order_id}"


def release_key(order_id: int) -> str:
    """One live release job per order, whichever trigger (payment failure, cancellation)
    asked first."""
    return f"release-{order_id}"


def order_place(
    *, email: str, total: str, number: str | None = None, items: dict[str, int] | None = None
) -> Order:
    """A new order: its stock reserved, its confirmation email and its auto-cancel an hour
    from now, and a review when it is high-value, all written with the order's row (jobs
    published once it commits). Stock that is not there refuses the whole order."""
    with transaction.atomic():
        order = Order.objects.create(
            number=number or uuid.uuid4().hex[:12].upper(), email=email, total=total
        )
        _stock_reserve(order=order, items=items or {})
        if Decimal(total) > HIGH_VALUE_ABOVE:
            review_queue(
                order=order, kind=ReviewKind.HIGH_VALUE, reason=f"order total {total} > 50000"
            )
        # removeOnComplete: true, removeOnFail: false
        send_order_email.apply_async(
            kwargs={"order_id": order.pk, "template": "order_confirmation"},
            remove_on_complete=True,
            remove_on_fail=False,
        )
        # orderQueue.add('auto-cancel', {orderId}, {delay: 1 h, jobId: `cancel-${id}`})
        auto_cancel_order.apply_async(
            kwargs={"order_id": order.pk},
            countdown=AUTO_CANCEL_AFTER.total_seconds(),
            job_key=auto_cancel_key(order.pk),
        )
    return order


def _stock_reserve(*, order: Order, items: dict[str, int]) -> None:
    for sku, quantity in sorted(items.items()):  # one lock order: no deadlock between orders
        if not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput(f"quantity of {sku!r} must be a positive integer", field="items")
        # A conditional UPDATE: two orders racing for the last unit cannot both get it.
        taken = StockItem.objects.filter(sku=sku, available__gte=quantity).update(
            available=F("available") - quantity
        )
        if not taken:
            raise InvalidInput(f"not enough stock of {sku!r} for {quantity}", field="items")
        InventoryReservation.objects.create(order=order, sku=sku, quantity=quantity)


def order_cancel(*, order_id: int, reason: str = ReleaseReason.ORDER_CANCELLED) -> bool:
    """Cancel the order if it is still unpaid, tell the customer and release its stock; a
    paid or cancelled order is left alone."""
    with transaction.atomic():
        cancelled = Order.objects.filter(pk=order_id, status=OrderStatus.PENDING).update(
            status=OrderStatus.CANCELLED, cancelled_at=timezone.now()
        )
        if cancelled:
            send_order_email.apply_async(
                kwargs={"order_id": order_id, "template": "order_cancelled"},
                remove_on_complete=True,
            )
            inventory_release_queue(order_id=order_id, reason=reason)
    return bool(cancelled)


def order_auto_cancel(*, order_id: int) -> dict:
    """The hour is up: cancel the order if it is still unpaid."""
    return {"cancelled": order_cancel(order_id=order_id)}


def inventory_release_queue(*, order_id: int, reason: str) -> str:
    """``inventoryReleaseQueue.add(...)``: the job id (the live one when the other trigger
    queued it already)."""
    if reason not in ReleaseReason.values:
        raise InvalidInput(f"unknown release reason {reason!r}", field="reason")
    return release_inventory.apply_async(
        kwargs={"order_id": order_id, "reason": str(reason)}, job_key=release_key(order_id)
    ).id


def inventory_release(*, order_id: int, reason: str) -> dict:
    """Give the order's reserved stock back. Safe to run twice: only reservations still
    reserved are released, under their row locks."""
    if reason not in ReleaseReason.values:  # a job queued by hand: no retry mends it
        raise PermanentError(f"unknown release reason {reason!r}")
    released = 0
    with transaction.atomic():
        reservations = InventoryReservation.objects.select_for_update().filter(
            order_id=order_id, status=ReservationStatus.RESERVED
        )
        for reservation in reservations.order_by("sku"):
            StockItem.objects.filter(sku=reservation.sku).update(
                available=F("available") + reservation.quantity
            )
            released += reservation.quantity
        reservations.update(
            status=ReservationStatus.RELEASED, release_reason=reason, released_at=timezone.now()
        )
    return {"order_id": order_id, "released": released, "reason": reason}


def review_queue(*, order: Order, kind: str, reason: str = "") -> str:
    """``manualReviewQueue.add(...)``: the review job's id."""
    if kind not in ReviewKind.values:
        raise InvalidInput(f"unknown review kind {kind!r}", field="kind")
    return open_review.apply_async(
        kwargs={"order_id": order.pk, "kind": str(kind), "reason": reason}
    ).id


def review_open(*, order_id: int, kind: str, reason: str) -> dict:
    """The review job: the item an admin decides on, made once, and the admins told."""
    item, created = ReviewItem.objects.get_or_create(
        order_id=order_id, kind=kind, defaults={"reason": reason}
    )
    if created:
        mail_admins(
            subject=f"Manual review: {item.get_kind_display()} (order {item.order.number})",
            message=reason or item.get_kind_display(),
        )
    return {"review": item.pk, "created": created}


def return_request(*, order: Order, reason: str) -> str:
    """A customer asks to return a paid order: it goes to manual review."""
    if order.status != OrderStatus.PAID:
        raise ConflictError(f"order {order.number} is {order.status}, not paid")
    return review_queue(order=order, kind=ReviewKind.RETURN_REQUEST, reason=reason)


def review_decide(*, review_id: int, approve: bool, by: str) -> ReviewItem:
    """The admin's decision. A rejected high-value order is cancelled (its stock released)
    when it is still unpaid."""
    with transaction.atomic():
        decided = ReviewItem.objects.filter(pk=review_id, status=ReviewStatus.PENDING).update(
            status=ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED,
            decided_at=timezone.now(),
            decided_by=by,
        )
        item = ReviewItem.objects.get(pk=review_id)
        if not decided:
            raise ConflictError(f"review {review_id} was already {item.status}")
        if not approve and item.kind == ReviewKind.HIGH_VALUE:
            order_cancel(order_id=item.order_id)
    return item


def order_mark_paid(*, order: Order) -> bool:
    """The payment arrived: the order is paid and its auto-cancel job removed
    (``orderQueue.remove(`cancel-${id}`)``). False when the order was already cancelled or
    paid."""
    with transaction.atomic():
        paid = Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
            status=OrderStatus.PAID, paid_at=timezone.now()
        )
        if not paid:
            return False
        job_cancel(job_key=auto_cancel_key(order.pk))
        send_order_email.apply_async(
            kwargs={"order_id": order.pk, "template": "payment_received"},
            remove_on_complete=True,
        )
        generate_invoice.apply_async(kwargs={"order_id": order.pk})
    return True


def order_email_send(*, order_id: int, template: str) -> dict:
    order = Order.objects.get(pk=order_id)
    send_mail(
        subject=f"{SUBJECTS[template]}: {order.number}",
        message=f"Order {order.number}, total {order.total}, status {order.status}.",
        from_email=None,
        recipient_list=[order.email],
    )
    return {"sent": True, "to": order.email, "template": template}


def shipping_notification_send(*, order: Order) -> str:
    """A shipping notice whose job is removed a day after it completes, keeping at most the
    1000 newest completed ones (``removeOnComplete: {age: 86400, count: 1000}``)."""
    return send_order_email.apply_async(
        kwargs={"order_id": order.pk, "template": "shipping_notification"},
        remove_on_complete=KEEP_COMPLETED,
    ).id


def payment_webhook_receive(
    *, provider: str, event_id: str, kind: str, order_number: str
) -> tuple[str, bool]:
    """A provider's webhook, handed to the webhook queue: the job id, and whether this call
    made the job (False when the provider sent this event already)."""
    result = process_payment_webhook.apply_async(
        kwargs={
            "provider": provider,
            "event_id": event_id,
            "kind": kind,
            "order_number": order_number,
        },
        job_key=f"webhook:{provider}:{event_id}",
        unique_for=WEBHOOK_DEDUPE_WINDOW,
    )
    return result.id, result.created


def payment_webhook_process(*, provider: str, event_id: str, kind: str, order_number: str) -> dict:
    """Record the event once; a success pays the order, a failure schedules a capture retry."""
    order = Order.objects.get(number=order_number)
    _, created = PaymentEvent.objects.get_or_create(
        provider=provider, event_id=event_id, defaults={"kind": kind, "order": order}
    )
    if not created:
        return {"duplicate": True}
    if kind == "payment.succeeded":
        return {"paid": order_mark_paid(order=order)}
    if kind == "payment.failed":
        retry_payment_capture.apply_async(kwargs={"order_id": order.pk})
        failures = PaymentEvent.objects.filter(order=order, kind="payment.failed").count()
        if failures == SUSPICIOUS_FAILED_PAYMENTS:
            review_queue(
                order=order,
                kind=ReviewKind.SUSPICIOUS_PAYMENT,
                reason=f"{failures} failed payments",
            )
        return {"retry_scheduled": True}
    return {"ignored": kind}


def payment_capture(*, order_id: int, final_attempt: bool = False) -> dict:
    """Capture the payment through the sandbox gateway. A decline is counted (committed) and
    then raised, so the job retries an hour later; a decline on the final attempt is the
    payment's failure for good: the order is cancelled and its stock released."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != OrderStatus.PENDING:
            return {"captured": False, "status": order.status}
        declined = order.gateway_declines > 0
        Order.objects.filter(pk=order_id).update(
            capture_attempts=F("capture_attempts") + 1,
            gateway_declines=F("gateway_declines") - int(declined),
        )
    if declined:
        if final_attempt:
            order_cancel(order_id=order_id, reason=ReleaseReason.PAYMENT_FAILED)
        raise GatewayUnavailable(f"gateway declined the capture of order {order.number}")
    return {"captured": order_mark_paid(order=order)}


def invoice_generate(*, order_id: int, progress) -> dict:
    """The invoice, reporting its progress (``job.updateProgress(50)``)."""
    order = Order.objects.get(pk=order_id)
    progress(50, "invoice rendered")
    number = f"INV-{order.number}"
    Order.objects.filter(pk=order_id).update(invoice_number=number)
    progress(100, "invoice stored")
    return {"invoice": number}


def stock_sync_run() -> dict:
    sync = StockSync.objects.create(products=Order.objects.count())
    return {"sync": sync.pk}


def email_queue_limit_apply() -> None:
    """The email worker's ``limiter: {max: 100, duration: 1000}``: at most 100 jobs a second
    across every worker, kept in the database (run once at deploy; idempotent)."""
    queue_set_rate_limit(queue=EMAIL_QUEUE, max_jobs=100, duration_ms=1000)


def email_queue_clean() -> dict[str, int]:
    """``clean(0, 0, 'completed')`` and ``clean(7 days, 0, 'failed')`` on the email queue."""
    return {
        "completed": job_clean(queue=EMAIL_QUEUE, grace_ms=0, status="completed"),
        "failed": job_clean(
            queue=EMAIL_QUEUE,
            grace_ms=int(timedelta(days=7).total_seconds() * 1000),
            status="failed",
        ),
    }
