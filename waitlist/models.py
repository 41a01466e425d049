"""Waitlist data: tenants and their staff, slots, entries, holds, notifications, audit log.

A slot's "held" state is not stored on the slot: it is the existence of its one ``active``
hold, and the database guarantees there is at most one (``waitlist_hold_one_live_per_slot``).
Likewise an entry is "offered" while it has an active hold. Keeping that state in one place
means no two rows can disagree about it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone


class Tenant(models.Model):
    """A business keeping a waitlist."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    # How long an offered slot is held for its candidate before it cascades to the next.
    hold_duration = models.DurationField(default=timedelta(minutes=15))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hold_duration__gt=timedelta(0)), name="waitlist_tenant_hold_positive"
            )
        ]

    def __str__(self) -> str:
        return self.name


class TenantMembership(models.Model):
    """A user who is staff of a tenant: sees and manages that tenant's waitlist only."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_memberships"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="waitlist_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant}"


class SlotStatus(models.TextChoices):
    OPEN = "open", "Open"
    BOOKED = "booked", "Booked"
    CANCELLED = "cancelled", "Cancelled"


class Slot(models.Model):
    """A bookable place (a table, an appointment, a class place)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="slots")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=SlotStatus.choices, default=SlotStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "status", "starts_at"], name="waitlist_slot_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    # Allowed by the model, not sent yet: SMS and WhatsApp senders are a later enhancement.
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"


class EntryStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked"
    CANCELLED = "cancelled", "Cancelled"


class WaitlistEntry(models.Model):
    """A customer waiting for a slot: a specific one, or any slot of the tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="entries")
    slot = models.ForeignKey(
        Slot,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="targeted_entries",
        help_text="Only this slot; empty means any slot of the tenant.",
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=32, blank=True, default="")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    # Higher goes first; equal priorities are served in order of joining.
    priority = models.SmallIntegerField(default=0)
    joined_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=EntryStatus.choices, default=EntryStatus.WAITING
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["-priority", "joined_at", "id"]
        indexes = [
            # The cascade's candidate scan: a tenant's waiting entries in service order.
            models.Index(
                F("tenant"),
                F("priority").desc(),
                F("joined_at"),
                F("id"),
                condition=Q(status="waiting"),
                name="waitlist_entry_queue_order",
            ),
        ]
        constraints = [
            # One waiting entry per customer and target (any slot counts as target 0).
            models.UniqueConstraint(
                F("tenant"),
                Lower("email"),
                Coalesce(F("slot"), 0),
                condition=Q(status="waiting"),
                name="waitlist_entry_one_waiting_per_email",
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=-1000, priority__lte=1000),
                name="waitlist_entry_priority_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> ({self.status})"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class CascadeReason(models.TextChoices):
    """Why a slot is offered to the next candidate: it opened, or the previous candidate
    declined or let the hold expire."""

    OPENED = "opened", "Slot opened"
    DECLINED = "declined", "Previous candidate declined"
    EXPIRED = "expired", "Previous hold expired"


class Hold(models.Model):
    """A slot reserved for one entry until ``expires_at``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="holds")
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="holds")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="holds")
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    offer_reason = models.CharField(
        max_length=10, choices=CascadeReason.choices, default=CascadeReason.OPENED
    )
    offered_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-offered_at", "-id"]
        indexes = [
            # The expired-holds sweep reads only live holds, oldest expiry first.
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="waitlist_hold_live_expiry",
            ),
            models.Index(fields=["tenant", "status"], name="waitlist_hold_tenant_status"),
        ]
        constraints = [
            # The cascade's safety net: however many cascades race for a slot, at most one
            # of them can hold it. The cascade also locks the slot row, but a lock only
            # protects code that takes it; this holds for every writer.
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(status="active"),
                name="waitlist_hold_one_live_per_slot",
            ),
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(status="confirmed"),
                name="waitlist_hold_one_booking_per_slot",
            ),
            # A customer considers one offer at a time.
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(status="active"),
                name="waitlist_hold_one_live_per_entry",
            ),
            # A slot is offered to an entry at most once, so a cascade always ends.
            models.UniqueConstraint(fields=["slot", "entry"], name="waitlist_hold_one_offer"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("offered_at")), name="waitlist_hold_expiry_after_offer"
            ),
        ]

    def __str__(self) -> str:
        return f"hold {self.pk} on slot {self.slot_id} for entry {self.entry_id} ({self.status})"


class NotificationKind(models.TextChoices):
    OFFER = "offer", "Slot offer"
    BOOKED = "booked", "Booking confirmed"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Notification(models.Model):
    """One message to a customer, with its delivery history."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="notifications")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="notifications")
    hold = models.ForeignKey(
        Hold, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=255, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="waitlist_notification_created"),
            models.Index(fields=["tenant", "status"], name="waitlist_notification_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} to {self.recipient} ({self.status})"


class AuditLog(models.Model):
    """Who changed what, when. Written by the services in the same transaction as the change."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_logs"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # "system", "customer", or the user's name: readable after the user is deleted.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="waitlist_audit_created"),
            models.Index(fields=["object_type", "object_id"], name="waitlist_audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"
