"""Setting up a tenant and its staff (manage.py waitlist_tenant)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from waitlist.models import AuditLog, Tenant, TenantMembership
from waitlist.tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_command_creates_a_tenant_with_staff_and_audits_it():
    user = UserFactory(username="alice")
    out = StringIO()

    call_command(
        "waitlist_tenant",
        "bistro",
        "--name",
        "Bistro",
        "--hold-seconds",
        "90",
        "--staff",
        "alice",
        stdout=out,
    )

    tenant = Tenant.objects.get(slug="bistro")
    assert (tenant.name, tenant.hold_duration) == ("Bistro", timedelta(seconds=90))
    assert TenantMembership.objects.filter(tenant=tenant, user=user).exists()
    assert {"tenant.created", "membership.added"} <= set(
        AuditLog.objects.values_list("action", flat=True)
    )
    assert "staff: alice" in out.getvalue()


def test_command_updates_an_existing_tenant_without_duplicating_staff():
    tenant = TenantFactory(slug="bistro")
    UserFactory(username="alice")
    call_command("waitlist_tenant", "bistro", "--staff", "alice", stdout=StringIO())

    call_command(
        "waitlist_tenant", "bistro", "--hold-seconds", "30", "--staff", "alice", stdout=StringIO()
    )

    tenant.refresh_from_db()
    assert tenant.hold_duration == timedelta(seconds=30)
    assert tenant.memberships.count() == 1


@pytest.mark.parametrize(
    "args", [["--staff", "nobody"], ["--hold-seconds", "0"]], ids=["unknown user", "zero hold"]
)
def test_command_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        call_command("waitlist_tenant", "bistro", *args, stdout=StringIO())
    assert not Tenant.objects.exists()
