"""Input validation and output shapes of the tickets API. No business logic here."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs import BodySerializer, QuerySerializer, StrictUUIDField
from tickets.models import (
    Booking,
    Event,
    GenerationStatus,
    ReservationExpiry,
    Seat,
    SeatLock,
    SeatStatus,
    Ticket,
    TicketGeneration,
)

MAX_SEATS_PER_REQUEST = 100


def _each_seat_once(value: list) -> None:
    if len(set(value)) != len(value):
        raise serializers.ValidationError("Each seat may appear only once.")


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "format": "uuid"},
        "minItems": 1,
        "maxItems": MAX_SEATS_PER_REQUEST,
        "uniqueItems": True,
    }
)
class SeatIdsField(serializers.ListField):
    """A non-empty list of distinct seat ids, at most MAX_SEATS_PER_REQUEST of them."""


def seat_ids_field(**kwargs) -> serializers.ListField:
    return SeatIdsField(
        child=StrictUUIDField(),
        allow_empty=False,
        max_length=MAX_SEATS_PER_REQUEST,
        validators=[_each_seat_once],
        **kwargs,
    )


class SeatIdsInput(BodySerializer):
    seat_ids = seat_ids_field()


class BookingCreateInput(BodySerializer):
    event_id = StrictUUIDField()
    seat_ids = seat_ids_field(
        required=False,
        help_text="Seats to book; all of your live locks for the event when left out.",
    )


class VerifyPaymentInput(BodySerializer):
    payment_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class CheckInInput(BodySerializer):
    code = serializers.CharField(max_length=1000, trim_whitespace=True)


class SeatStatusFilter(QuerySerializer):
    status = serializers.ChoiceField(choices=SeatStatus.choices, required=False)


class GenerationQueueFilter(QuerySerializer):
    status = serializers.ChoiceField(
        choices=GenerationStatus.choices, required=False, allow_blank=True
    )


class ReservationExpiryFilter(QuerySerializer):
    processed = serializers.ChoiceField(choices=["true", "false"], required=False)


class EventOut(serializers.ModelSerializer):
    seats_total = serializers.IntegerField(read_only=True)
    seats_available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "name",
            "venue",
            "starts_at",
            "description",
            "seats_total",
            "seats_available",
        ]


class SeatOut(serializers.ModelSerializer):
    class Meta:
        model = Seat
        fields = ["id", "label", "section", "price", "status"]


class EventSeatsOut(serializers.Serializer):
    """Seat availability of one event: counts per status, and the seats."""

    event_id = serializers.UUIDField()
    counts = serializers.DictField(child=serializers.IntegerField())
    seats = SeatOut(many=True)


class SeatLockOut(serializers.ModelSerializer):
    seat_label = serializers.CharField(source="seat.label", read_only=True)

    class Meta:
        model = SeatLock
        fields = ["id", "seat_id", "seat_label", "event_id", "status", "expires_at", "created_at"]


class TicketOut(serializers.ModelSerializer):
    seat_label = serializers.CharField(source="seat.label", read_only=True)

    class Meta:
        model = Ticket
        fields = ["id", "seat_id", "seat_label", "code", "used_at"]


class GenerationOut(serializers.ModelSerializer):
    class Meta:
        model = TicketGeneration
        fields = [
            "status",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "last_attempt_at",
            "processed_at",
        ]


class BookingOut(serializers.ModelSerializer):
    event = serializers.SerializerMethodField()
    seats = serializers.SerializerMethodField()
    tickets = serializers.SerializerMethodField()
    ticket_generation = serializers.SerializerMethodField()
    tickets_pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "event",
            "status",
            "total_amount",
            "expires_at",
            "paid_at",
            "payment_reference",
            "created_at",
            "seats",
            "tickets",
            "ticket_generation",
            "tickets_emailed_at",
            "tickets_pdf_url",
        ]

    def get_event(self, booking: Booking) -> dict:
        return {"id": str(booking.event_id), "name": booking.event.name}

    def get_seats(self, booking: Booking) -> list[dict]:
        return [
            {"id": str(bs.seat_id), "label": bs.seat.label, "price": str(bs.price)}
            for bs in sorted(booking.booking_seats.all(), key=lambda bs: bs.seat.label)
            if bs.active or booking.status == "expired"
        ]

    def get_tickets(self, booking: Booking) -> list[dict]:
        tickets = sorted(booking.tickets.all(), key=lambda t: t.seat.label)
        return TicketOut(tickets, many=True).data

    def get_ticket_generation(self, booking: Booking) -> dict | None:
        """'done' once tickets exist; the queue row's state while retries are pending."""
        try:
            entry = booking.ticket_generation
        except TicketGeneration.DoesNotExist:
            entry = None
        if entry is not None:
            data = GenerationOut(entry).data
            if self.context.get("staff"):
                data["last_error"] = entry.last_error
            return data
        if booking.status != "paid":
            return None
        has_tickets = any(True for _ in booking.tickets.all())
        return {"status": GenerationStatus.DONE if has_tickets else "in_progress"}

    def get_tickets_pdf_url(self, booking: Booking) -> str | None:
        if booking.status != "paid" or not list(booking.tickets.all()):
            return None
        return f"/api/tickets/bookings/{booking.id}/tickets.pdf"


class GenerationQueueOut(serializers.ModelSerializer):
    class Meta:
        model = TicketGeneration
        fields = [
            "id",
            "booking_id",
            "admin_id",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_error",
            "status",
            "processed_at",
            "created_at",
        ]


class ReservationExpiryOut(serializers.ModelSerializer):
    class Meta:
        model = ReservationExpiry
        fields = [
            "id",
            "reservation_id",
            "seat_ids",
            "user_id",
            "expires_at",
            "processed",
            "processed_at",
            "created_at",
        ]


class SeatLocksOut(serializers.Serializer):
    locks = SeatLockOut(many=True)
    expires_at = serializers.DateTimeField(help_text="When the first of these locks expires.")


class UnlockOut(serializers.Serializer):
    released = serializers.ListField(child=serializers.UUIDField())


class JobQueuedOut(serializers.Serializer):
    job_id = serializers.UUIDField()
    queued = serializers.BooleanField(help_text="False when a live run was returned instead.")
    name = serializers.CharField(required=False)
    booking_id = serializers.UUIDField(required=False)


class CheckInOut(serializers.Serializer):
    result = serializers.ChoiceField(choices=["valid", "already_used", "forged"])
    detail = serializers.CharField()
    ticket = TicketOut(required=False)
