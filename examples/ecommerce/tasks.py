"""The e-commerce workers: ``new Worker('email-queue', processor, {concurrency})`` is a task
declared on its queue (the worker's -c is the queue's concurrency, examples/queues.py)."""

from smtplib import SMTPException

from django.db import InterfaceError, OperationalError

from jobs import exponential, fixed, job_task

from . import (
    EMAIL_QUEUE,
    INVENTORY_QUEUE,
    MANUAL_REVIEW_QUEUE,
    ORDER_QUEUE,
    PAYMENT_RETRY_QUEUE,
    WEBHOOK_QUEUE,
)
from .errors import GatewayUnavailable

TRANSIENT_EMAIL_ERRORS = (SMTPException, ConnectionError, TimeoutError)
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


# attempts: 3, backoff: {type: "exponential", delay: 2000} -> 2 s, 4 s between attempts.
@job_task(
    name="examples.ecommerce.send_order_email",
    queue=EMAIL_QUEUE,
    max_attempts=3,
    backoff=exponential(2),
    autoretry_for=TRANSIENT_EMAIL_ERRORS,
)
def send_order_email(order_id: int, template: str) -> dict:
    from .services import order_email_send

    return order_email_send(order_id=order_id, template=template)


# Order queue: 2 attempts.
@job_task(name="examples.ecommerce.auto_cancel_order", queue=ORDER_QUEUE, max_attempts=2)
def auto_cancel_order(order_id: int) -> dict:
    from .services import order_auto_cancel

    return order_auto_cancel(order_id=order_id)


@job_task(name="examples.ecommerce.generate_invoice", queue=ORDER_QUEUE, max_attempts=2, bind=True)
def generate_invoice(self, order_id: int) -> dict:
    from .services import invoice_generate

    return invoice_generate(order_id=order_id, progress=self.progress)


@job_task(name="examples.ecommerce.daily_report", queue=ORDER_QUEUE, max_attempts=2)
def daily_report() -> dict:
    from .selectors import orders_daily_report

    return orders_daily_report()


# Payment webhooks: 5 attempts, with idempotency (the enqueue's job_key + unique_for, and the
# event row's unique constraint); atomic: the event row, the order's payment and the job's
# completion commit together, so a redelivered message cannot pay twice.
@job_task(
    name="examples.ecommerce.process_payment_webhook",
    queue=WEBHOOK_QUEUE,
    max_attempts=5,
    backoff=exponential(1),
    atomic=True,
)
def process_payment_webhook(provider: str, event_id: str, kind: str, order_number: str) -> dict:
    from .services import payment_webhook_process

    return payment_webhook_process(
        provider=provider, event_id=event_id, kind=kind, order_number=order_number
    )


# Payment retry: 3 attempts, 1 hour apart; only the gateway's transient refusals retry. The
# last attempt knows it is the last: a decline then is the payment's final failure.
@job_task(
    name="examples.ecommerce.retry_payment_capture",
    queue=PAYMENT_RETRY_QUEUE,
    max_attempts=3,
    backoff=fixed(3600),
    autoretry_for=(GatewayUnavailable,),
    bind=True,
)
def retry_payment_capture(self, order_id: int) -> dict:
    from .services import payment_capture

    claim = self.request.ledger_claim
    return payment_capture(order_id=order_id, final_attempt=claim.attempts >= claim.max_attempts)


@job_task(name="examples.ecommerce.stock_sync", queue=INVENTORY_QUEUE, max_attempts=3)
def stock_sync() -> dict:
    from .services import stock_sync_run

    return stock_sync_run()


# Inventory release: 3 attempts, for the database's transient errors (a lock timeout, a
# dropped connection). atomic: the stock given back and the job's completion commit
# together, so a redelivered message cannot give the same stock back twice.
@job_task(
    name="examples.ecommerce.release_inventory",
    queue=INVENTORY_QUEUE,
    max_attempts=3,
    autoretry_for=TRANSIENT_DB_ERRORS,
    atomic=True,
)
def release_inventory(order_id: int, reason: str) -> dict:
    from .services import inventory_release

    return inventory_release(order_id=order_id, reason=reason)


# Manual review: one at a time (the queue's worker runs -c 1), no retry documented: a
# failure is kept for an operator's job_retry.
@job_task(name="examples.ecommerce.open_review", queue=MANUAL_REVIEW_QUEUE, max_attempts=1)
def open_review(order_id: int, kind: str, reason: str = "") -> dict:
    from .services import review_open

    return review_open(order_id=order_id, kind=kind, reason=reason)
