"""Django admin for every waitlist model. Holds, notifications and the audit log are
read-only history here: their state changes go through the services (and the audit log)."""

from django.contrib import admin
from django.db.models import QuerySet

from jobs import admin_run_for_each
from waitlist import services
from waitlist.models import (
    AuditLog,
    Hold,
    Notification,
    NotificationStatus,
    Slot,
    Tenant,
    TenantMembership,
    WaitlistEntry,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class HoldInline(ReadOnlyInline):
    model = Hold
    fk_name = "entry"
    fields = ["slot", "status", "offer_reason", "offered_at", "expires_at", "resolved_at"]
    readonly_fields = fields
    ordering = ["-offered_at"]


class SlotHoldInline(HoldInline):
    fk_name = "slot"
    fields = ["entry", "status", "offer_reason", "offered_at", "expires_at", "resolved_at"]
    readonly_fields = fields


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ["kind", "channel", "status", "recipient", "attempts", "last_error", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at"]


class MembershipInline(admin.TabularInline):
    model = TenantMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "hold_duration", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(TenantMembership)
class TenantMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["user__username", "user__email", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ["title", "tenant", "starts_at", "status", "created_at"]
    list_filter = ["status", "tenant"]
    search_fields = ["title"]
    readonly_fields = ["status", "created_at", "updated_at"]
    inlines = [SlotHoldInline]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "tenant", "priority", "joined_at", "status", "slot"]
    list_filter = ["status", "channel", "tenant"]
    search_fields = ["name", "email", "phone"]
    readonly_fields = ["status", "joined_at", "updated_at"]
    raw_id_fields = ["slot"]
    # The entry's whole history: every offer it got and every message sent to it.
    inlines = [HoldInline, NotificationInline]


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "slot", "entry", "status", "offered_at", "expires_at"]
    list_filter = ["status", "offer_reason", "tenant"]
    raw_id_fields = ["slot", "entry"]
    readonly_fields = [
        "tenant",
        "slot",
        "entry",
        "status",
        "offer_reason",
        "offered_at",
        "expires_at",
        "resolved_at",
    ]
    inlines = [NotificationInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "tenant",
        "kind",
        "channel",
        "recipient",
        "status",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "kind", "channel", "tenant"]
    search_fields = ["recipient", "subject"]
    readonly_fields = [
        "tenant",
        "entry",
        "hold",
        "kind",
        "channel",
        "status",
        "recipient",
        "subject",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
        "sent_at",
    ]
    actions = ["retry_failed"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected failed notifications")
    def retry_failed(self, request, queryset: QuerySet[Notification]) -> None:
        actor = services.Actor.of_user(request.user)
        admin_run_for_each(
            self,
            request,
            queryset.filter(status=NotificationStatus.FAILED),
            lambda notification: services.notification_retry(
                notification=notification, actor=actor
            ),
            done="Notification(s) queued for sending",
        )


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type", "tenant"]
    search_fields = ["actor_label", "action"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
