"""factory_boy factories for the waitlist models."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from waitlist.models import (
    AuditLog,
    Hold,
    Notification,
    NotificationKind,
    Slot,
    Tenant,
    TenantMembership,
    WaitlistEntry,
)

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password(PASSWORD)


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Bistro {n}")
    slug = factory.Sequence(lambda n: f"bistro-{n}")
    hold_duration = timedelta(minutes=15)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = TenantMembership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)


class SlotFactory(DjangoModelFactory):
    class Meta:
        model = Slot

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Table {n}")
    starts_at = None


class EntryFactory(DjangoModelFactory):
    class Meta:
        model = WaitlistEntry

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.test")
    priority = 0
    joined_at = factory.LazyFunction(timezone.now)


class HoldFactory(DjangoModelFactory):
    class Meta:
        model = Hold

    slot = factory.SubFactory(SlotFactory)
    tenant = factory.SelfAttribute("slot.tenant")
    entry = factory.SubFactory(EntryFactory, tenant=factory.SelfAttribute("..slot.tenant"))
    offered_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda h: h.offered_at + h.slot.tenant.hold_duration)


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = Notification

    hold = factory.SubFactory(HoldFactory)
    tenant = factory.SelfAttribute("hold.tenant")
    entry = factory.SelfAttribute("hold.entry")
    kind = NotificationKind.OFFER
    recipient = factory.SelfAttribute("entry.email")


class AuditLogFactory(DjangoModelFactory):
    class Meta:
        model = AuditLog

    tenant = factory.SubFactory(TenantFactory)
    actor_label = "system"
    action = "test.event"
    object_type = "slot"
    object_id = 1
