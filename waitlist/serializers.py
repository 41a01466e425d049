"""API input validation and output shapes. Errors name the field they are about."""

from django.utils import timezone
from rest_framework import serializers

from jobs import BodySerializer, QuerySerializer
from waitlist.models import (
    CascadeReason,
    Channel,
    EntryStatus,
    Hold,
    HoldStatus,
    Notification,
    Slot,
    SlotStatus,
    Tenant,
    WaitlistEntry,
)

MAX_ID = 2**63 - 1


def id_field(**kwargs) -> serializers.IntegerField:
    # Bounded so an absurd id answers 400, not a database overflow error.
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# --- output ---------------------------------------------------------------------------------
class TenantSerializer(serializers.ModelSerializer):
    hold_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "hold_seconds", "created_at"]

    def get_hold_seconds(self, tenant: Tenant) -> int:
        return int(tenant.hold_duration.total_seconds())


class HoldSerializer(serializers.ModelSerializer):
    seconds_left = serializers.SerializerMethodField()

    class Meta:
        model = Hold
        fields = [
            "id",
            "slot",
            "entry",
            "status",
            "offer_reason",
            "offered_at",
            "expires_at",
            "resolved_at",
            "seconds_left",
        ]

    def get_seconds_left(self, hold: Hold) -> int:
        if hold.status != HoldStatus.ACTIVE:
            return 0
        return max(0, int((hold.expires_at - timezone.now()).total_seconds()))


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id",
            "hold",
            "kind",
            "channel",
            "status",
            "recipient",
            "subject",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
        ]


def _first(obj, attr: str, status: str | None = None):
    items = getattr(obj, attr, None)
    if items is None:
        return None
    for item in items:
        if status is None or item.status == status:
            return item
    return None


class SlotSerializer(serializers.ModelSerializer):
    current_hold = serializers.SerializerMethodField()
    booked_entry = serializers.SerializerMethodField()

    class Meta:
        model = Slot
        fields = [
            "id",
            "title",
            "starts_at",
            "status",
            "current_hold",
            "booked_entry",
            "created_at",
        ]

    def get_current_hold(self, slot: Slot) -> dict | None:
        hold = _first(slot, "current_holds", HoldStatus.ACTIVE)
        return HoldSerializer(hold).data if hold else None

    def get_booked_entry(self, slot: Slot) -> int | None:
        hold = _first(slot, "current_holds", HoldStatus.CONFIRMED)
        return hold.entry_id if hold else None


class EntrySerializer(serializers.ModelSerializer):
    current_hold = serializers.SerializerMethodField()

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "name",
            "email",
            "phone",
            "channel",
            "priority",
            "slot",
            "status",
            "joined_at",
            "current_hold",
        ]

    def get_current_hold(self, entry: WaitlistEntry) -> dict | None:
        hold = _first(entry, "live")
        return HoldSerializer(hold).data if hold else None


class EntryDetailSerializer(EntrySerializer):
    holds = serializers.SerializerMethodField()
    notifications = serializers.SerializerMethodField()

    class Meta(EntrySerializer.Meta):
        fields = [*EntrySerializer.Meta.fields, "holds", "notifications"]

    def get_holds(self, entry: WaitlistEntry) -> list[dict]:
        return HoldSerializer(getattr(entry, "history", []), many=True).data

    def get_notifications(self, entry: WaitlistEntry) -> list[dict]:
        return NotificationSerializer(getattr(entry, "messages", []), many=True).data


# --- input ----------------------------------------------------------------------------------
class SlotCreateSerializer(BodySerializer):
    title = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_starts_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("must be in the future")
        return value


class EntryCreateSerializer(BodySerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.EMAIL)
    priority = serializers.IntegerField(min_value=-1000, max_value=1000, default=0)
    slot = id_field(required=False, allow_null=True)

    # validate(): SMS and WhatsApp need a phone number.
    schema_rules = {
        "anyOf": [
            # (a pattern, not an enum: drf-spectacular names every enum of a "channel")
            {"properties": {"channel": {"pattern": f"^{Channel.EMAIL.value}$"}}},
            {"required": ["phone"], "properties": {"phone": {"minLength": 1}}},
        ],
        "description": "A phone number is required for the sms and whatsapp channels.",
    }

    def validate(self, attrs):
        if attrs.get("channel", Channel.EMAIL) != Channel.EMAIL and not attrs.get("phone"):
            raise serializers.ValidationError({"phone": ["required for sms and whatsapp"]})
        return attrs


class SlotFilterSerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=SlotStatus.choices, required=False)


class EntryFilterSerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=EntryStatus.choices, required=False)
    slot = id_field(required=False)


class HoldFilterSerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=HoldStatus.choices, required=False)
    slot = id_field(required=False)
    entry = id_field(required=False)


class ExpiredHoldsTriggerSerializer(BodySerializer):
    tenant = serializers.SlugField(max_length=60, required=False, allow_null=True)


class CascadeTriggerSerializer(BodySerializer):
    slot_id = id_field()
    previous_entry_id = id_field(required=False, allow_null=True)
    reason = serializers.ChoiceField(choices=CascadeReason.choices)


class NotificationRetrySerializer(BodySerializer):
    notification_id = id_field()


class CleanupTriggerSerializer(BodySerializer):
    retention_days = serializers.IntegerField(
        min_value=1, max_value=36500, required=False, allow_null=True
    )


class JobAcceptedSerializer(serializers.Serializer):
    """What a job endpoint answers: the ledger job that will do the work."""

    job_id = serializers.CharField()
    task = serializers.CharField()
    queue = serializers.CharField()
    status = serializers.CharField()
    kwargs = serializers.DictField()
    created = serializers.BooleanField(help_text="false: a live job with the same key exists")
