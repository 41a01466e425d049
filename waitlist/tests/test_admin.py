"""Django admin: every waitlist model is there, and an entry shows its history."""

import pytest
from django.urls import reverse

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
from waitlist.tests.factories import (
    AuditLogFactory,
    HoldFactory,
    MembershipFactory,
    NotificationFactory,
    SlotFactory,
)
from waitlist.tests.ledger import enqueued

pytestmark = pytest.mark.django_db

MODELS = [Tenant, TenantMembership, Slot, WaitlistEntry, Hold, Notification, AuditLog]


@pytest.fixture
def objects(tenant):
    hold = HoldFactory(slot=SlotFactory(tenant=tenant))
    return {
        Tenant: tenant,
        TenantMembership: MembershipFactory(tenant=tenant),
        Slot: hold.slot,
        WaitlistEntry: hold.entry,
        Hold: hold,
        Notification: NotificationFactory(hold=hold, recipient="history@example.test"),
        AuditLog: AuditLogFactory(tenant=tenant),
    }


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_has_a_working_changelist_and_change_page(admin_client, objects, model):
    meta = model._meta
    changelist = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    change = admin_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[objects[model].pk])
    )

    assert changelist.status_code == 200
    assert change.status_code == 200


def test_entry_page_shows_its_holds_and_notifications(admin_client, objects):
    entry = objects[WaitlistEntry]

    page = admin_client.get(reverse("admin:waitlist_waitlistentry_change", args=[entry.pk]))

    content = page.content.decode()
    assert "Holds" in content and "Notifications" in content
    assert "history@example.test" in content


def test_admin_action_retries_failed_notifications(admin_client, objects):
    notification = objects[Notification]
    Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.FAILED)

    admin_client.post(
        reverse("admin:waitlist_notification_changelist"),
        {"action": "retry_failed", "_selected_action": [notification.pk]},
    )

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert enqueued("waitlist.send_notification").count() == 1
