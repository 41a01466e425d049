from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    number = models.CharField(max_length=20, unique=True)
    email = models.EmailField()
    total = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=10, choices=OrderStatus.choices, default="pending")
    # The sandbox gateway declines this many captures with a transient error (a stand-in
    # for a payment provider that is down for a while).
    gateway_declines = models.PositiveSmallIntegerField(default=0)
    capture_attempts = models.PositiveSmallIntegerField(default=0)
    invoice_number = models.CharField(max_length=30, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "examples"

    def __str__(self) -> str:
        return f"order {self.number} ({self.status})"


class PaymentEvent(models.Model):
    """A provider's webhook event, processed once: the unique constraint is the idempotency
    the source asks of its webhook worker."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=40)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payment_events")
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "examples"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="examples_payment_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"


class StockSync(models.Model):
    """One run of the hourly stock sync."""

    ran_at = models.DateTimeField(auto_now_add=True)
    products = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "examples"

    def __str__(self) -> str:
        return f"stock sync {self.ran_at:%Y-%m-%d %H:%M}"


class StockItem(models.Model):
    """A product's stock: what can still be reserved."""

    sku = models.CharField(max_length=40, unique=True)
    available = models.IntegerField(default=0)

    class Meta:
        app_label = "examples"

    def __str__(self) -> str:
        return f"{self.sku}: {self.available} available"


class ReservationStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    RELEASED = "released", "Released"


class ReleaseReason(models.TextChoices):
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    ORDER_CANCELLED = "order_cancelled", "Order cancelled"


class InventoryReservation(models.Model):
    """Stock an order holds until it is paid, or released when its payment fails for good or
    the order is cancelled (the inventory-release queue)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="reservations")
    sku = models.CharField(max_length=40)
    quantity = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.RESERVED
    )
    release_reason = models.CharField(
        max_length=20, choices=ReleaseReason.choices, blank=True, default=""
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "examples"
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="examples_reservation_once")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku} for {self.order_id} ({self.status})"


class ReviewKind(models.TextChoices):
    HIGH_VALUE = "high_value", "High-value order"
    SUSPICIOUS_PAYMENT = "suspicious_payment", "Suspicious payment pattern"
    RETURN_REQUEST = "return_request", "Return request"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ReviewItem(models.Model):
    """An item on the manual-review queue, waiting for an admin's decision."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField(max_length=20, choices=ReviewKind.choices)
    reason = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        app_label = "examples"
        # One review per order and kind: a job run twice does not ask the admin twice.
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="examples_review_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} review of order {self.order_id} ({self.status})"
