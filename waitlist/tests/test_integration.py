"""The waitlist end to end on a real Celery worker, real Redis and real PostgreSQL."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from jobs import JobSpec, enqueue_many
from tests.support.processes import worker_env
from tests.support.waiting import wait_for
from waitlist import services
from waitlist.models import (
    AuditLog,
    EntryStatus,
    Hold,
    HoldStatus,
    Notification,
    NotificationStatus,
    SlotStatus,
    WaitlistEntry,
)
from waitlist.tests.conftest import RECORDING_BACKEND
from waitlist.tests.email_backends import recorded_mail
from waitlist.tests.factories import (
    PASSWORD,
    EntryFactory,
    MembershipFactory,
    SlotFactory,
    TenantFactory,
)
from waitlist.tests.ledger import Job, enqueued

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAITLIST_QUEUES = [
    "waitlist.holds",
    "waitlist.cascade",
    "waitlist.notifications",
    "waitlist.cleanup",
]


def mail_to(address: str, subject_contains: str = "") -> list[dict]:
    return [m for m in recorded_mail() if address in m["to"] and subject_contains in m["subject"]]


def link_path(mail: dict, purpose: str) -> str:
    url = re.search(rf"https?://\S+/offers/{purpose}/\S+/", mail["body"]).group(0)
    return urlsplit(url).path


def start_waitlist_worker(start_worker, concurrency: int = 2):
    env = worker_env(WAITLIST_EMAIL_BACKEND=RECORDING_BACKEND)
    return start_worker(name="waitlist", queues=WAITLIST_QUEUES, concurrency=concurrency, env=env)


def jwt_client(user) -> APIClient:
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    ).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_join_offer_expire_next_candidate_confirm_booked(start_worker, client):
    worker = start_waitlist_worker(start_worker)
    tenant = TenantFactory(hold_duration=timedelta(seconds=2))
    api = jwt_client(MembershipFactory(tenant=tenant).user)
    root = f"/api/waitlist/tenants/{tenant.slug}"

    # Two customers join; Ann has the higher priority.
    ann = api.post(
        f"{root}/entries/", {"name": "Ann", "email": "ann@example.test", "priority": 5}
    ).json()
    ben = api.post(f"{root}/entries/", {"name": "Ben", "email": "ben@example.test"}).json()

    # A slot opens: the worker's cascade holds it for Ann and emails her.
    slot = api.post(f"{root}/slots/", {"title": "Table 7"}).json()
    (offer_to_ann,) = wait_for(lambda: mail_to("ann@example.test"))
    assert "Table 7" in offer_to_ann["subject"]
    assert "/offers/confirm/" in offer_to_ann["html"]
    ann_hold = Hold.objects.get(entry_id=ann["id"])
    assert ann_hold.status == HoldStatus.ACTIVE

    # Ann does not answer. Once her hold has expired the sweep is triggered by hand.
    wait_for(lambda: timezone.now() >= ann_hold.expires_at, timeout=5)
    triggered = api.post("/api/jobs/expired-holds/trigger", {"tenant": tenant.slug})
    assert triggered.status_code == 202, triggered.content

    # Her hold is released and the slot cascades to Ben, who gets his own offer.
    (offer_to_ben,) = wait_for(lambda: mail_to("ben@example.test"))
    ann_hold.refresh_from_db()
    assert ann_hold.status == HoldStatus.EXPIRED
    ben_hold = Hold.objects.get(entry_id=ben["id"], status=HoldStatus.ACTIVE)
    assert ben_hold.offer_reason == "expired"
    assert api.get(f"{root}/holds/{ben_hold.pk}/").json()["status"] == "active"
    # Ann's expired link no longer works.
    stale = client.post(link_path(offer_to_ann, "confirm"))
    assert stale.status_code == 410

    # Ben confirms through his link: the slot is booked for him.
    confirm = link_path(offer_to_ben, "confirm")
    assert client.get(confirm).status_code == 200
    done = client.post(confirm)
    assert done.status_code == 200 and b"booked" in done.content

    body = api.get(f"{root}/slots/{slot['id']}/").json()
    assert body["status"] == SlotStatus.BOOKED
    assert body["booked_entry"] == ben["id"]
    assert WaitlistEntry.objects.get(pk=ben["id"]).status == EntryStatus.BOOKED
    assert WaitlistEntry.objects.get(pk=ann["id"]).status == EntryStatus.WAITING
    wait_for(lambda: mail_to("ben@example.test", "booked"))

    # Every step is in the audit log, and every job completed on the worker.
    actions = list(AuditLog.objects.order_by("created_at", "id").values_list("action", flat=True))
    for expected in [
        "entry.joined",
        "slot.opened",
        "hold.offered",
        "notification.sent",
        "hold.expired",
        "hold.confirmed",
        "slot.booked",
    ]:
        assert expected in actions, (expected, actions)
    assert actions.index("hold.expired") < actions.index("hold.confirmed")
    wait_for(lambda: not Job.objects.exclude(status="completed").exists())
    assert "Traceback" not in worker.log()


def test_failed_sends_retry_after_1_2_4_seconds_then_fail_and_can_be_retried(start_worker):
    start_waitlist_worker(start_worker)
    tenant = TenantFactory()
    admin = MembershipFactory(tenant=tenant).user
    # The mail server drops the first four sends to this address.
    EntryFactory(tenant=tenant, email="flaky4@example.test")

    services.slot_create(tenant=tenant, title="Table 1", actor=services.SYSTEM)

    notification = wait_for(
        lambda: Notification.objects.filter(status=NotificationStatus.FAILED).first(), timeout=30
    )
    assert notification.attempts == 4
    assert "SMTPServerDisconnected" in notification.last_error
    job = enqueued("waitlist.send_notification").get()
    wait_for(lambda: Job.objects.get(pk=job.pk).status == "failed")
    assert Job.objects.get(pk=job.pk).attempts == 4
    failures = list(
        AuditLog.objects.filter(
            object_type="notification",
            action__in=["notification.attempt_failed", "notification.failed"],
        ).order_by("created_at")
    )
    assert [a.action for a in failures] == ["notification.attempt_failed"] * 3 + [
        "notification.failed"
    ]
    gaps = [
        (later.created_at - earlier.created_at).total_seconds()
        for earlier, later in zip(failures, failures[1:], strict=False)
    ]
    for gap, backoff in zip(gaps, [1, 2, 4], strict=True):
        assert backoff - 0.1 <= gap < backoff + 1.5, gaps
    assert recorded_mail() == []

    # An operator retries it: the fifth send goes through.
    api = jwt_client(admin)
    response = api.post("/api/jobs/notifications/retry", {"notification_id": notification.pk})
    assert response.status_code == 202

    wait_for(lambda: mail_to("flaky4@example.test"))
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 5


def test_parallel_cascades_on_worker_processes_hold_the_slot_once(start_worker):
    start_waitlist_worker(start_worker, concurrency=4)
    tenant = TenantFactory()
    slot = SlotFactory(tenant=tenant)
    for priority in range(10):
        EntryFactory(tenant=tenant, priority=priority)

    with transaction.atomic():
        jobs = enqueue_many(
            JobSpec(
                task="waitlist.notification_cascade",
                kwargs={"slot_id": slot.pk, "previous_entry_id": None, "reason": "expired"},
            )
            for _ in range(8)
        )

    ids = [job.id for job in jobs]
    wait_for(
        lambda: Job.objects.filter(id__in=ids, status="completed").count() == 8,
        timeout=30,
    )
    outcomes = sorted(Job.objects.filter(id__in=ids).values_list("result__outcome", flat=True))
    assert outcomes == ["already_held"] * 7 + ["offered"]
    assert Hold.objects.filter(slot=slot, status=HoldStatus.ACTIVE).count() == 1
