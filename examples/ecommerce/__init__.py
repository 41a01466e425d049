"""The e-commerce queues, once on BullMQ, written against the platform.

- email: confirmations and shipping notices (5 concurrent, 3 attempts, exponential 2 s, a
  100 jobs/s limiter, finished jobs removed by ``remove_on_complete``);
- orders: the 1 hour auto-cancel keyed by ``cancel-<order>`` (cancelled when the payment
  arrives), the invoice with its progress, the 09:00 daily report;
- payment webhooks: 5 attempts, once per provider event (``job_key`` + ``unique_for``, and
  the event's unique row);
- payment retry: 3 attempts, an hour apart;
- inventory release: an order's reserved stock given back when its payment fails for good
  or the order is cancelled (8 concurrent, 3 attempts), and the hourly stock sync
  (``every``);
- manual review: high-value orders (over 50,000), suspicious payment patterns and return
  requests, queued one at a time (concurrency 1) for an admin's decision.
"""

EMAIL_QUEUE = "examples.email"
ORDER_QUEUE = "examples.orders"
WEBHOOK_QUEUE = "examples.payment-webhooks"
PAYMENT_RETRY_QUEUE = "examples.payment-retry"
INVENTORY_QUEUE = "examples.inventory"
MANUAL_REVIEW_QUEUE = "examples.manual-review"
