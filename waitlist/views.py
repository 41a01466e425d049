"""Tenant-scoped REST API (JWT): slots, entries, holds.

Every URL carries the tenant's slug and every query is filtered by that tenant, which the
user must be staff of. Another tenant, or another tenant's object, answers 404: the API does
not even confirm that it exists.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from jobs import ConflictAwareAutoSchema, Pagination, validated
from waitlist import selectors, services
from waitlist.models import Slot
from waitlist.serializers import (
    EntryCreateSerializer,
    EntryDetailSerializer,
    EntryFilterSerializer,
    EntrySerializer,
    HoldFilterSerializer,
    HoldSerializer,
    SlotCreateSerializer,
    SlotFilterSerializer,
    SlotSerializer,
    TenantSerializer,
)


class WaitlistAPIView(GenericAPIView):
    """Service errors (``WaitlistError``) need no handling here: the project's DRF exception
    handler answers them with their own status (400 bad input, 409 wrong state)."""

    permission_classes = [IsAuthenticated]
    pagination_class = Pagination
    schema = ConflictAwareAutoSchema()

    def paginated(self, queryset, serializer_class=None) -> Response:
        serializer_class = serializer_class or self.get_serializer_class()
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class TenantScopedView(WaitlistAPIView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        self.tenant = selectors.tenant_get_for_user(user=request.user, slug=kwargs["tenant"])

    def actor(self) -> services.Actor:
        return services.Actor.of_user(self.request.user)


class TenantListView(WaitlistAPIView):
    serializer_class = TenantSerializer

    @extend_schema(operation_id="waitlist_tenants_list", responses=TenantSerializer(many=True))
    def get(self, request):
        return self.paginated(selectors.tenant_list_for_user(user=request.user).order_by("name"))


class TenantDetailView(TenantScopedView):
    serializer_class = TenantSerializer

    def get(self, request, tenant):
        return Response(TenantSerializer(self.tenant).data)


# --- slots ------------------------------------------------------------------------------------
class SlotListView(TenantScopedView):
    serializer_class = SlotSerializer

    @extend_schema(
        operation_id="waitlist_slots_list",
        parameters=[SlotFilterSerializer],
        responses=SlotSerializer(many=True),
    )
    def get(self, request, tenant):
        filters = validated(SlotFilterSerializer, request.query_params)
        return self.paginated(selectors.slot_list(tenant=self.tenant, status=filters.get("status")))

    @extend_schema(request=SlotCreateSerializer, responses={201: SlotSerializer})
    def post(self, request, tenant):
        data = validated(SlotCreateSerializer, request.data)
        slot = services.slot_create(tenant=self.tenant, actor=self.actor(), **data)
        return Response(self._detail(slot.pk), status=status.HTTP_201_CREATED)

    def _detail(self, pk: int) -> dict:
        return SlotSerializer(selectors.slot_list(tenant=self.tenant).get(pk=pk)).data


class SlotDetailView(TenantScopedView):
    serializer_class = SlotSerializer

    def get(self, request, tenant, pk):
        return Response(SlotSerializer(self.get_slot(pk)).data)

    def get_slot(self, pk: int) -> Slot:
        return get_object_or_404(selectors.slot_list(tenant=self.tenant), pk=pk)


class SlotCancelView(SlotDetailView):
    http_method_names = ["post", "options"]

    @extend_schema(request=None, responses=SlotSerializer)
    def post(self, request, tenant, pk):
        services.slot_cancel(slot=self.get_slot(pk), actor=self.actor())
        return Response(SlotSerializer(self.get_slot(pk)).data)


# --- entries ----------------------------------------------------------------------------------
class EntryListView(TenantScopedView):
    serializer_class = EntrySerializer

    @extend_schema(
        operation_id="waitlist_entries_list",
        parameters=[EntryFilterSerializer],
        responses=EntrySerializer(many=True),
    )
    def get(self, request, tenant):
        filters = validated(EntryFilterSerializer, request.query_params)
        entries = selectors.entry_list(
            tenant=self.tenant, status=filters.get("status"), slot_id=filters.get("slot")
        )
        return self.paginated(entries)

    @extend_schema(request=EntryCreateSerializer, responses={201: EntryDetailSerializer})
    def post(self, request, tenant):
        values = dict(validated(EntryCreateSerializer, request.data))
        slot_id = values.pop("slot", None)
        slot = None
        if slot_id is not None:
            slot = Slot.objects.filter(tenant=self.tenant, pk=slot_id).first()
            if slot is None:
                raise ValidationError({"slot": ["no such slot"]})
        entry = services.entry_join(tenant=self.tenant, slot=slot, actor=self.actor(), **values)
        detail = selectors.entry_detail_queryset(tenant=self.tenant).get(pk=entry.pk)
        return Response(EntryDetailSerializer(detail).data, status=status.HTTP_201_CREATED)


class EntryDetailView(TenantScopedView):
    serializer_class = EntryDetailSerializer

    def get(self, request, tenant, pk):
        return Response(EntryDetailSerializer(self.get_entry(pk)).data)

    def get_entry(self, pk: int):
        return get_object_or_404(selectors.entry_detail_queryset(tenant=self.tenant), pk=pk)


class EntryCancelView(EntryDetailView):
    http_method_names = ["post", "options"]

    @extend_schema(request=None, responses=EntryDetailSerializer)
    def post(self, request, tenant, pk):
        services.entry_cancel(entry=self.get_entry(pk), actor=self.actor())
        return Response(EntryDetailSerializer(self.get_entry(pk)).data)


# --- holds ------------------------------------------------------------------------------------
class HoldListView(TenantScopedView):
    serializer_class = HoldSerializer

    @extend_schema(
        operation_id="waitlist_holds_list",
        parameters=[HoldFilterSerializer],
        responses=HoldSerializer(many=True),
    )
    def get(self, request, tenant):
        filters = validated(HoldFilterSerializer, request.query_params)
        holds = selectors.hold_list(
            tenant=self.tenant,
            status=filters.get("status"),
            slot_id=filters.get("slot"),
            entry_id=filters.get("entry"),
        )
        return self.paginated(holds)


class HoldDetailView(TenantScopedView):
    """The hold's status: active (with seconds left), confirmed, declined, expired..."""

    serializer_class = HoldSerializer

    def get(self, request, tenant, pk):
        return Response(HoldSerializer(self.get_hold(pk)).data)

    def get_hold(self, pk: int):
        return get_object_or_404(selectors.hold_list(tenant=self.tenant), pk=pk)


class HoldConfirmView(HoldDetailView):
    """Staff confirm an offer on the customer's behalf (e.g. the customer phoned)."""

    http_method_names = ["post", "options"]

    @extend_schema(request=None, responses=HoldSerializer)
    def post(self, request, tenant, pk):
        hold = services.hold_confirm(hold=self.get_hold(pk), actor=self.actor())
        return Response(HoldSerializer(hold).data)


class HoldDeclineView(HoldConfirmView):
    @extend_schema(request=None, responses=HoldSerializer)
    def post(self, request, tenant, pk):
        hold = services.hold_decline(hold=self.get_hold(pk), actor=self.actor())
        return Response(HoldSerializer(hold).data)
