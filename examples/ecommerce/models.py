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
