"""The e-commerce services: they place orders and take payments, and enqueue the jobs the
source's producers added to their BullMQ queues."""

import uuid
from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import job_cancel, job_clean, queue_set_rate_limit

from . import EMAIL_QUEUE
from .errors import GatewayUnavailable
from .models import Order, OrderStatus, PaymentEvent, StockSync
from .tasks import (
    auto_cancel_order,
    generate_invoice,
    process_payment_webhook,
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


def auto_cancel_key(order_id: int) -> str:
    """The delayed job's ``jobId``: ``cancel-<order id>``."""
    return f"cancel-{order_id}"


def order_place(*, email: str, total: str, number: str | None = None) -> Order:
    """A new order: its confirmation email and its auto-cancel an hour from now, both
    enqueued with the order's row (published once it commits)."""
    with transaction.atomic():
        order = Order.objects.create(
            number=number or uuid.uuid4().hex[:12].upper(), email=email, total=total
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


def order_auto_cancel(*, order_id: int) -> dict:
    """Cancel the order if it is still unpaid; a paid or cancelled order is left alone."""
    cancelled = Order.objects.filter(pk=order_id, status=OrderStatus.PENDING).update(
        status=OrderStatus.CANCELLED, cancelled_at=timezone.now()
    )
    if cancelled:
        send_order_email.apply_async(
            kwargs={"order_id": order_id, "template": "order_cancelled"},
            remove_on_complete=True,
        )
    return {"cancelled": bool(cancelled)}


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
        return {"retry_scheduled": True}
    return {"ignored": kind}


def payment_capture(*, order_id: int) -> dict:
    """Capture the payment through the sandbox gateway. A decline is counted (committed) and
    then raised, so the job retries an hour later."""
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
