"""The cleanup job: notifications and audit logs older than the retention are removed."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from waitlist import services, tasks
from waitlist.errors import WaitlistError
from waitlist.models import AuditLog, Notification
from waitlist.tests.factories import AuditLogFactory, NotificationFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 5, 1, 2, 0, tzinfo=UTC)


def aged(days: float):
    return NOW - timedelta(days=days)


@time_machine.travel(NOW, tick=False)
def test_cleanup_removes_records_older_than_30_days_by_default(tenant):
    old_note = NotificationFactory(tenant=tenant, created_at=aged(31))
    new_note = NotificationFactory(tenant=tenant, created_at=aged(29))
    old_log = AuditLogFactory(tenant=tenant, created_at=aged(30) - timedelta(seconds=1))
    new_log = AuditLogFactory(tenant=tenant, created_at=aged(1))

    result = services.retention_cleanup()

    assert result["retention_days"] == 30
    assert (result["notifications_deleted"], result["audit_logs_deleted"]) == (1, 1)
    assert not Notification.objects.filter(pk=old_note.pk).exists()
    assert not AuditLog.objects.filter(pk=old_log.pk).exists()
    assert Notification.objects.filter(pk=new_note.pk).exists()
    assert AuditLog.objects.filter(pk=new_log.pk).exists()
    # The cleanup leaves its own record.
    record = AuditLog.objects.get(action="cleanup.completed")
    assert record.data["notifications_deleted"] == 1


@time_machine.travel(NOW, tick=False)
def test_retention_comes_from_the_setting(tenant, settings):
    settings.WAITLIST_RETENTION_DAYS = 7
    NotificationFactory(tenant=tenant, created_at=aged(8))

    assert services.retention_cleanup()["notifications_deleted"] == 1


@time_machine.travel(NOW, tick=False)
def test_retention_can_be_given_per_run(tenant):
    NotificationFactory(tenant=tenant, created_at=aged(3))

    assert services.retention_cleanup(retention_days=90)["notifications_deleted"] == 0
    assert services.retention_cleanup(retention_days=2)["notifications_deleted"] == 1


@time_machine.travel(NOW, tick=False)
def test_cleanup_deletes_in_bounded_batches(tenant):
    for _ in range(5):
        AuditLogFactory(tenant=tenant, created_at=aged(40))

    first = services.retention_cleanup(batch_size=2, max_batches=2)
    second = services.retention_cleanup(batch_size=2, max_batches=2)

    assert first["audit_logs_deleted"] == 4
    assert second["audit_logs_deleted"] == 1


@pytest.mark.parametrize("days", [0, -1, True, "7"])
def test_a_bad_retention_is_refused(days):
    with pytest.raises(WaitlistError) as raised:
        services.retention_cleanup(retention_days=days)
    assert raised.value.field == "retention_days"


def test_cleanup_job_is_tried_twice_with_a_fixed_delay():
    task = tasks.cleanup
    assert task.name == "waitlist.cleanup"
    assert task.job_queue == "waitlist.cleanup"
    assert task.max_attempts == 2
    assert task.backoff.kind == "fixed"
    assert task.backoff.seconds(1) == task.backoff.seconds(2) > 0
