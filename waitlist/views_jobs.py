"""The waitlist's job endpoints under /api/jobs/: start a waitlist job by hand.

Who may call them:

- platform staff (``user.is_staff``): everything, for every tenant;
- tenant staff (a TenantMembership): the expired-holds sweep, cascades and notification
  retries of their own tenants. Another tenant's slot, entry or notification answers 404,
  as everywhere in the waitlist API. Sweeping every tenant at once and the cleanup (which
  is global) are for platform staff only.

Each answers 202 with the ledger job; a trigger that finds the same job still waiting or
running (same job key) returns that job with ``"created": false``. Every trigger a tenant's
staff can call is keyed: the sweep per tenant, a notification's retry per notification, a
cascade per tenant, slot and reason.

The queues are shared by every tenant, so a tenant's staff also have a budget: at most
``waitlist_trigger`` triggers (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES; 30/minute unless
set) per tenant and window, shared by all of that tenant's staff; beyond it 429 with
``Retry-After``. Platform staff are not counted.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from jobs import NOT_FOUND, LedgerResult, validated
from waitlist import selectors, services
from waitlist.errors import WaitlistError
from waitlist.models import Notification, Slot, SlotStatus, Tenant, WaitlistEntry
from waitlist.serializers import (
    CascadeTriggerSerializer,
    CleanupTriggerSerializer,
    ExpiredHoldsTriggerSerializer,
    JobAcceptedSerializer,
    NotificationRetrySerializer,
)
from waitlist.views import WaitlistAPIView


class IsPlatformOrTenantStaff(BasePermission):
    message = "Only platform staff or a tenant's staff can start waitlist jobs."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return selectors.user_is_platform_staff(user=user) or (
            selectors.tenant_list_for_user(user=user).exists()
        )


class TenantTriggerThrottle(SimpleRateThrottle):
    """Triggers per tenant (not per user: a tenant may have many staff accounts), counted in
    the shared cache so every web process enforces the same budget."""

    scope = "waitlist_trigger"
    default_rate = "30/minute"

    def __init__(self, tenant_id: int):
        self.tenant_id = tenant_id
        super().__init__()

    def get_rate(self) -> str:
        # Read when used, so a settings change (and the tests' override) is seen.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or self.default_rate

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": f"tenant-{self.tenant_id}"}


def job_payload(result: LedgerResult) -> dict:
    job = result.job
    return {
        "job_id": str(job.id),
        "task": job.task,
        "queue": job.queue,
        "status": job.status,
        "kwargs": job.kwargs,
        "created": result.created,
    }


class JobTriggerView(WaitlistAPIView):
    permission_classes = [IsPlatformOrTenantStaff]
    http_method_names = ["post", "options"]

    def scoped(self, queryset):
        """Only the objects of tenants this user manages (all of them for platform staff)."""
        tenants = selectors.tenants_manageable_by(user=self.request.user)
        if tenants is None:
            return queryset
        if queryset.model is Tenant:
            return queryset.filter(pk__in=tenants.values("pk"))
        return queryset.filter(tenant__in=tenants.values("pk"))

    def get_visible(self, queryset, **lookup):
        found = self.scoped(queryset).filter(**lookup).first()
        if found is None:
            raise Http404("Not found.")
        return found

    def throttle_tenant(self, tenant_id: int) -> None:
        """Count this trigger against the tenant's budget (429 beyond it)."""
        if selectors.user_is_platform_staff(user=self.request.user):
            return
        throttle = TenantTriggerThrottle(tenant_id)
        if not throttle.allow_request(self.request, self):
            self.throttled(self.request, throttle.wait())

    def accepted(self, result: LedgerResult) -> Response:
        return Response(job_payload(result), status=status.HTTP_202_ACCEPTED)


class ExpiredHoldsTriggerView(JobTriggerView):
    """POST {"tenant": "<slug>"} (optional): release expired holds now."""

    serializer_class = ExpiredHoldsTriggerSerializer

    @extend_schema(responses={202: JobAcceptedSerializer, 404: NOT_FOUND})
    def post(self, request):
        data = validated(ExpiredHoldsTriggerSerializer, request.data)
        slug = data.get("tenant")
        if slug:
            tenant_id = self.get_visible(Tenant.objects.all(), slug=slug).pk
            self.throttle_tenant(tenant_id)
        elif not selectors.user_is_platform_staff(user=request.user):
            raise ValidationError(
                {"tenant": ["required: only platform staff can process every tenant at once"]}
            )
        else:
            tenant_id = None
        return self.accepted(services.expired_holds_enqueue(tenant_id=tenant_id))


class CascadeTriggerView(JobTriggerView):
    """POST {"slot_id", "previous_entry_id" (optional), "reason": declined|expired|opened}."""

    serializer_class = CascadeTriggerSerializer

    @extend_schema(responses={202: JobAcceptedSerializer, 404: NOT_FOUND})
    def post(self, request):
        data = validated(CascadeTriggerSerializer, request.data)
        slot = self.get_visible(Slot.objects.all(), pk=data["slot_id"])
        self.throttle_tenant(slot.tenant_id)
        previous_id = data.get("previous_entry_id")
        if previous_id is not None:
            previous = self.get_visible(WaitlistEntry.objects.all(), pk=previous_id)
            if previous.tenant_id != slot.tenant_id:
                raise ValidationError(
                    {"previous_entry_id": ["belongs to another tenant than the slot"]}
                )
        if slot.status != SlotStatus.OPEN:
            raise WaitlistError(
                f"the slot is {slot.status}; only open slots are offered",
                field="slot_id",
                code=slot.status,
            )
        result = services.cascade_trigger(
            slot=slot, previous_entry_id=previous_id, reason=data["reason"]
        )
        return self.accepted(result)


class NotificationRetryView(JobTriggerView):
    """POST {"notification_id"}: send a failed notification again."""

    serializer_class = NotificationRetrySerializer

    @extend_schema(responses={202: JobAcceptedSerializer, 404: NOT_FOUND})
    def post(self, request):
        data = validated(NotificationRetrySerializer, request.data)
        notification = self.get_visible(Notification.objects.all(), pk=data["notification_id"])
        self.throttle_tenant(notification.tenant_id)
        result = services.notification_retry(
            notification=notification, actor=services.Actor.of_user(request.user)
        )
        return self.accepted(result)


class CleanupTriggerView(JobTriggerView):
    """POST {"retention_days"} (optional): delete old notifications and audit logs now."""

    serializer_class = CleanupTriggerSerializer

    @extend_schema(responses={202: JobAcceptedSerializer})
    def post(self, request):
        if not selectors.user_is_platform_staff(user=request.user):
            raise PermissionDenied("Only platform staff can run the cleanup (it spans tenants).")
        data = validated(CleanupTriggerSerializer, request.data)
        return self.accepted(services.cleanup_enqueue(retention_days=data.get("retention_days")))
