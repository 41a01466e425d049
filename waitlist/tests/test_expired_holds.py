"""The expired-holds job: set-based release, one cascade per slot, its schedule."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from waitlist import services, tasks
from waitlist.models import AuditLog, HoldStatus
from waitlist.schedules import SCHEDULES
from waitlist.tests.factories import HoldFactory, SlotFactory, TenantFactory
from waitlist.tests.ledger import cascade_jobs

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def expired_hold(tenant, minutes_ago=1):
    return HoldFactory(
        slot=SlotFactory(tenant=tenant),
        offered_at=NOW - timedelta(minutes=15 + minutes_ago),
        expires_at=NOW - timedelta(minutes=minutes_ago),
    )


@time_machine.travel(NOW, tick=False)
def test_expired_holds_are_released_and_each_slot_cascades_onward(tenant):
    # Given two expired holds and one still running
    first, second = expired_hold(tenant, 1), expired_hold(tenant, 30)
    live = HoldFactory(slot=SlotFactory(tenant=tenant), expires_at=NOW + timedelta(seconds=1))

    # When the job runs
    result = services.holds_release_expired()

    # Then the expired ones are released, audited, and their slots cascade
    assert result == {"released": 2, "cascades": 2, "batches": 1, "tenant_id": None}
    for hold in (first, second):
        hold.refresh_from_db()
        assert hold.status == HoldStatus.EXPIRED
        assert hold.resolved_at == NOW
    live.refresh_from_db()
    assert live.status == HoldStatus.ACTIVE
    assert sorted(job.kwargs["slot_id"] for job in cascade_jobs()) == sorted(
        [first.slot_id, second.slot_id]
    )
    job = cascade_jobs().get(kwargs__slot_id=first.slot_id)
    assert job.kwargs == {
        "slot_id": first.slot_id,
        "previous_entry_id": first.entry_id,
        "reason": "expired",
    }
    assert job.queue == "waitlist.cascade"
    assert job.max_attempts == 5
    audits = AuditLog.objects.filter(action="hold.expired")
    assert sorted(audits.values_list("object_id", flat=True)) == sorted([first.pk, second.pk])
    assert audits.first().actor_label == "system"
    assert audits.get(object_id=first.pk).data == {
        "from": "active",
        "to": "expired",
        "slot": first.slot_id,
        "entry": first.entry_id,
    }
    assert audits.get(object_id=first.pk).tenant_id == tenant.pk
    assert audits.get(object_id=first.pk).created_at == NOW


@time_machine.travel(NOW, tick=False)
def test_a_hold_expiring_exactly_now_is_released(tenant):
    hold = HoldFactory(
        slot=SlotFactory(tenant=tenant), offered_at=NOW - timedelta(minutes=15), expires_at=NOW
    )

    services.holds_release_expired()

    hold.refresh_from_db()
    assert hold.status == HoldStatus.EXPIRED


@time_machine.travel(NOW, tick=False)
def test_expired_holds_of_one_tenant_only(tenant):
    mine = expired_hold(tenant)
    other = expired_hold(TenantFactory())

    result = services.holds_release_expired(tenant_id=tenant.pk)

    assert result["released"] == 1
    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.status, other.status) == (HoldStatus.EXPIRED, HoldStatus.ACTIVE)


@time_machine.travel(NOW, tick=False)
def test_release_works_in_bounded_batches(tenant):
    for minutes in range(1, 6):
        expired_hold(tenant, minutes)

    partial = services.holds_release_expired(batch_size=2, max_batches=2)
    rest = services.holds_release_expired(batch_size=2, max_batches=10)

    assert (partial["released"], partial["batches"]) == (4, 2)
    assert (rest["released"], rest["batches"]) == (1, 1)
    assert cascade_jobs().count() == 5


@time_machine.travel(NOW, tick=False)
def test_running_the_sweep_twice_releases_nothing_twice(tenant):
    expired_hold(tenant)

    services.holds_release_expired()
    again = services.holds_release_expired()

    assert again["released"] == 0
    assert cascade_jobs().count() == 1


def test_only_confirmable_holds_are_released(tenant):
    for status in (HoldStatus.CONFIRMED, HoldStatus.DECLINED, HoldStatus.CANCELLED):
        HoldFactory(
            slot=SlotFactory(tenant=tenant),
            status=status,
            offered_at=NOW - timedelta(hours=2),
            expires_at=NOW - timedelta(hours=1),
        )

    assert services.holds_release_expired()["released"] == 0


def test_expired_holds_job_is_tried_3_times_with_exponential_backoff():
    task = tasks.process_expired_holds
    assert task.name == "waitlist.process_expired_holds"
    assert task.job_queue == "waitlist.holds"
    assert task.job_priority == 2  # HIGH
    assert task.max_attempts == 3
    assert [task.backoff.seconds(n) for n in (1, 2)] == [1, 2]
    assert Exception not in task.retry_for


def test_schedules_run_expired_holds_every_minute_and_cleanup_daily_at_two():
    by_task = {s.task: s for s in SCHEDULES}

    assert by_task["waitlist.process_expired_holds"].cron == "* * * * *"
    assert by_task["waitlist.process_expired_holds"].queue == "waitlist.holds"
    assert by_task["waitlist.cleanup"].cron == "0 2 * * *"
    assert by_task["waitlist.cleanup"].queue == "waitlist.cleanup"


def test_sync_schedules_stores_them_for_beat():
    call_command("sync_schedules", stdout=StringIO())

    sweep = PeriodicTask.objects.get(name="waitlist.expired-holds")
    cleanup = PeriodicTask.objects.get(name="waitlist.cleanup")
    assert sweep.task == "waitlist.process_expired_holds"
    assert (sweep.crontab.minute, sweep.crontab.hour) == ("*", "*")
    assert (cleanup.crontab.minute, cleanup.crontab.hour) == ("0", "2")
    assert sweep.enabled and cleanup.enabled
