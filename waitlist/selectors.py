"""Reads: tenant visibility, lists for the API, and the cascade's candidate order."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from waitlist.models import (
    EntryStatus,
    Hold,
    HoldStatus,
    Notification,
    Slot,
    SlotStatus,
    Tenant,
    WaitlistEntry,
)


def user_is_platform_staff(*, user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def tenant_list_for_user(*, user) -> QuerySet[Tenant]:
    """Tenants whose staff the user is. Platform staff get no implicit access here."""
    if not (user and user.is_authenticated):
        return Tenant.objects.none()
    return Tenant.objects.filter(memberships__user=user)


def tenant_get_for_user(*, user, slug: str) -> Tenant:
    """The tenant if the user is its staff; 404 otherwise, so other tenants stay invisible."""
    tenant = tenant_list_for_user(user=user).filter(slug=slug).first()
    if tenant is None:
        raise Http404("No such tenant.")
    return tenant


def tenants_manageable_by(*, user) -> QuerySet[Tenant] | None:
    """Tenants the job endpoints may touch for this user; None means every tenant."""
    if user_is_platform_staff(user=user):
        return None
    return tenant_list_for_user(user=user)


def _live_holds() -> Prefetch:
    return Prefetch(
        "holds",
        queryset=Hold.objects.filter(status__in=[HoldStatus.ACTIVE, HoldStatus.CONFIRMED]),
        to_attr="current_holds",
    )


def _filtered(queryset: QuerySet, **lookups) -> QuerySet:
    """The queryset narrowed by each lookup that was given (an absent filter is None)."""
    return queryset.filter(**{lookup: value for lookup, value in lookups.items() if value})


def slot_list(*, tenant: Tenant, status: str | None = None) -> QuerySet[Slot]:
    slots = Slot.objects.filter(tenant=tenant).prefetch_related(_live_holds())
    return _filtered(slots, status=status)


def entry_list(
    *, tenant: Tenant, status: str | None = None, slot_id: int | None = None
) -> QuerySet[WaitlistEntry]:
    entries = WaitlistEntry.objects.filter(tenant=tenant).prefetch_related(
        Prefetch("holds", queryset=Hold.objects.filter(status=HoldStatus.ACTIVE), to_attr="live")
    )
    return _filtered(entries, status=status, slot_id=slot_id)


def entry_detail_queryset(*, tenant: Tenant) -> QuerySet[WaitlistEntry]:
    return entry_list(tenant=tenant).prefetch_related(
        Prefetch("holds", queryset=Hold.objects.select_related("slot"), to_attr="history"),
        Prefetch("notifications", queryset=Notification.objects.all(), to_attr="messages"),
    )


def hold_list(
    *,
    tenant: Tenant,
    status: str | None = None,
    slot_id: int | None = None,
    entry_id: int | None = None,
) -> QuerySet[Hold]:
    return _filtered(
        Hold.objects.filter(tenant=tenant), status=status, slot_id=slot_id, entry_id=entry_id
    )


def slot_candidates(*, slot: Slot) -> QuerySet[WaitlistEntry]:
    """Who may be offered ``slot``, best first: waiting entries of its tenant that want this
    slot or any slot, were never offered it, and are not considering another offer."""
    offered_this_slot = Hold.objects.filter(entry=OuterRef("pk"), slot=slot)
    holding_another = Hold.objects.filter(entry=OuterRef("pk"), status=HoldStatus.ACTIVE)
    return (
        WaitlistEntry.objects.filter(tenant_id=slot.tenant_id, status=EntryStatus.WAITING)
        .filter(Q(slot__isnull=True) | Q(slot=slot))
        .exclude(Exists(offered_this_slot))
        .exclude(Exists(holding_another))
        .order_by("-priority", "joined_at", "id")
    )


def slots_waiting_for_candidates(
    *, tenant: Tenant, now: datetime, slot_id: int | None = None
) -> QuerySet[Slot]:
    """Open, not yet started slots nobody holds: a newly joined entry may be offered one."""
    held = Hold.objects.filter(slot=OuterRef("pk"), status=HoldStatus.ACTIVE)
    slots = (
        Slot.objects.filter(tenant=tenant, status=SlotStatus.OPEN)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__gt=now))
        .exclude(Exists(held))
    )
    if slot_id:
        slots = slots.filter(pk=slot_id)
    return slots.order_by("starts_at", "id")
