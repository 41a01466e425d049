"""Setting up a tenant (a business with a waitlist) and its staff."""

from datetime import timedelta

from django.db import transaction

from waitlist.models import Tenant, TenantMembership
from waitlist.services.audit import Actor, audit_record


def tenant_ensure(
    *,
    slug: str,
    actor: Actor,
    name: str | None = None,
    hold_duration: timedelta | None = None,
    staff: list | None = None,
) -> Tenant:
    """Create the tenant or update its name and hold duration; add the given staff."""
    with transaction.atomic():
        tenant, created = Tenant.objects.select_for_update().get_or_create(
            slug=slug, defaults={"name": name or slug}
        )
        changes = {}
        if name and tenant.name != name:
            changes["name"] = name
        if hold_duration is not None and tenant.hold_duration != hold_duration:
            changes["hold_duration"] = hold_duration
        for field, value in changes.items():
            setattr(tenant, field, value)
        if changes:
            tenant.save(update_fields=list(changes))
        if created or changes:
            audit_record(
                tenant_id=tenant.pk,
                actor=actor,
                action="tenant.created" if created else "tenant.updated",
                obj=tenant,
                data={k: str(v) for k, v in changes.items()} | {"slug": slug},
            )
        for user in staff or []:
            membership, added = TenantMembership.objects.get_or_create(tenant=tenant, user=user)
            if added:
                audit_record(
                    tenant_id=tenant.pk,
                    actor=actor,
                    action="membership.added",
                    obj=membership,
                    data={"user": user.get_username()},
                )
    return tenant
