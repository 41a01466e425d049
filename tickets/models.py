"""Events, seats, seat locks, bookings, tickets, and the two queue tables (reservation expiry,
ticket generation) whose rows the periodic jobs work through.

A seat's ``status`` is the fast answer to "can I take it?"; the rows that explain it are the
seat's active lock (``locked``), its active booking seat (``reserved``/``booked``). The
constraints below are the last line of defence when a code path forgets a guard: one active
lock per seat, one active booking per seat, one ticket per seat, one generation row per
booking.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Event(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    venue = models.CharField(max_length=200, blank=True, default="")
    starts_at = models.DateTimeField()
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.starts_at:%Y-%m-%d %H:%M})"


class SeatStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    LOCKED = "locked", "Locked"
    RESERVED = "reserved", "Reserved"
    BOOKED = "booked", "Booked"


class Seat(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="seats")
    label = models.CharField(max_length=20)
    section = models.CharField(max_length=50, blank=True, default="")
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    status = models.CharField(
        max_length=10, choices=SeatStatus.choices, default=SeatStatus.AVAILABLE
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event", "label"]
        constraints = [
            models.UniqueConstraint(fields=["event", "label"], name="seat_label_unique_per_event"),
        ]
        indexes = [models.Index(fields=["event", "status"], name="seat_event_status")]

    def __str__(self) -> str:
        return f"{self.label} @ {self.event_id}"


class SeatLockStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONVERTED = "converted", "Converted into a reservation"
    RELEASED = "released", "Released by the user"
    EXPIRED = "expired", "Expired"


class SeatLock(models.Model):
    """A short hold on one seat while its user decides."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="locks")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="seat_locks")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seat_locks"
    )
    status = models.CharField(
        max_length=10, choices=SeatLockStatus.choices, default=SeatLockStatus.ACTIVE
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat"], condition=Q(status="active"), name="seat_lock_one_active_per_seat"
            ),
        ]
        indexes = [
            # The every-minute sweep: active locks by expiry.
            models.Index(
                fields=["expires_at"], condition=Q(status="active"), name="seat_lock_active_expiry"
            ),
            models.Index(fields=["user", "event", "status"], name="seat_lock_user_event"),
        ]

    def __str__(self) -> str:
        return f"lock {self.seat_id} by {self.user_id} ({self.status})"


class BookingStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved (awaiting payment)"
    PAID = "paid", "Paid"
    EXPIRED = "expired", "Expired"


class Booking(models.Model):
    """A reservation of seats that becomes a booking when its payment is verified."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="bookings")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ticket_bookings"
    )
    status = models.CharField(
        max_length=10, choices=BookingStatus.choices, default=BookingStatus.RESERVED
    )
    total_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    expires_at = models.DateTimeField(help_text="The reservation lapses at this time unless paid.")
    payment_reference = models.CharField(max_length=200, blank=True, default="")
    paid_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    tickets_emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="booking_status_expiry")]

    def __str__(self) -> str:
        return f"booking {self.id} ({self.status})"


class BookingSeat(models.Model):
    """A seat inside a booking. ``active`` while the booking holds the seat (reserved or
    paid), so the partial unique index says: a seat is held by at most one booking."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="booking_seats")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="booking_seats")
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seat"], condition=Q(active=True), name="seat_held_by_one_booking"
            ),
            models.UniqueConstraint(fields=["booking", "seat"], name="booking_seat_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.seat_id} in {self.booking_id}"


class Ticket(models.Model):
    """One per seat, forever: the one-to-one is what makes generation idempotent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="tickets")
    seat = models.OneToOneField(Seat, on_delete=models.PROTECT, related_name="ticket")
    code = models.CharField(max_length=255, unique=True, help_text="Signed code in the QR.")
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, help_text="Checked in at.")
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["booking", "seat__label"]

    def __str__(self) -> str:
        return f"ticket {self.id}"


class TicketPdf(models.Model):
    """The rendered ticket document of a booking, kept so email and download agree."""

    booking = models.OneToOneField(
        Booking, on_delete=models.CASCADE, primary_key=True, related_name="pdf"
    )
    content = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    ticket_count = models.PositiveIntegerField(default=0)
    rendered_at = models.DateTimeField()

    class Meta:
        verbose_name = "ticket PDF"

    def __str__(self) -> str:
        return f"PDF of {self.booking_id} ({self.size} bytes)"


class ReservationExpiry(models.Model):
    """The reservation expiry queue (table ``tickets_reservation_expiry_queue``): one row per
    reservation, swept every 2 minutes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reservation = models.ForeignKey(
        Booking, on_delete=models.CASCADE, related_name="expiry_entries"
    )
    seat_ids = models.JSONField(default=list)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    processed = models.BooleanField(default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "tickets_reservation_expiry_queue"
        verbose_name = "reservation expiry queue entry"
        verbose_name_plural = "reservation expiry queue"
        ordering = ["expires_at"]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(processed=False), name="res_expiry_due"
            ),
        ]

    def __str__(self) -> str:
        return f"expiry of {self.reservation_id} at {self.expires_at:%H:%M:%S}"


class GenerationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FAILED = "failed", "Failed"
    DONE = "done", "Done"


class TicketGeneration(models.Model):
    """The ticket generation queue (table ``tickets_ticket_generation_queue``): a booking's row,
    created when generating its tickets at once failed, counting the attempts that follow.
    Not a ledger job: each attempt is one; this row is the retry state across them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    booking = models.OneToOneField(
        Booking, on_delete=models.CASCADE, related_name="ticket_generation"
    )
    admin = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who verified the payment.",
    )
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=10, choices=GenerationStatus.choices, default=GenerationStatus.PENDING
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "tickets_ticket_generation_queue"
        verbose_name = "ticket generation queue entry"
        verbose_name_plural = "ticket generation queue"
        ordering = ["next_attempt_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="ticket_gen_due",
            ),
        ]

    def __str__(self) -> str:
        return f"generation of {self.booking_id} ({self.status}, {self.attempts} attempts)"
