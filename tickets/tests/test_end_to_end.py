"""The whole flow with a real Celery worker on real Redis and PostgreSQL.

lock -> book -> verify payment -> tickets generated -> PDF with QR codes emailed; and lock
or reservation expiry released by the worker with the user told over a WebSocket.
"""

import re
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.urls import reverse
from django.utils import timezone

from config.asgi import application
from tests.support.auth import access_token, jwt_client
from tests.support.waiting import wait_for
from tests.support.websocket import ORIGIN, WebsocketCommunicator
from tickets import services
from tickets.models import (
    Booking,
    BookingSeat,
    BookingStatus,
    GenerationStatus,
    ReservationExpiry,
    Seat,
    SeatLock,
    SeatStatus,
    Ticket,
    TicketGeneration,
)
from tickets.tasks import (
    generate_tickets,
    process_expired_reservations,
    process_ticket_generation_queue,
    release_expired_locks,
)
from tickets.tests.factories import (
    EventFactory,
    SeatFactory,
    StaffFactory,
    UserFactory,
    paid_booking,
)
from tickets.tests.ledger import Job

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
QUEUES = ["tickets.expiry", "tickets.generation", "tickets.email"]


@pytest.fixture
def tickets_worker(start_worker):
    # Mail the worker sends lands in the worker_mailbox fixture.
    return start_worker(name="tickets", queues=QUEUES)


def test_lock_book_verify_then_tickets_pdf_with_qr_codes_is_emailed(tickets_worker, worker_mailbox):
    event = EventFactory(name="Spring Gala")
    seats = [SeatFactory(event=event, label=label) for label in ("A1", "A2", "A3")]
    fan = UserFactory(email="fan@example.com")
    api, staff_api = jwt_client(fan), jwt_client(StaffFactory())

    locked = api.post(
        reverse("tickets:seat-lock", args=[event.id]),
        {"seat_ids": [str(seats[0].id), str(seats[1].id)]},
        format="json",
    )
    assert locked.status_code == 201
    booked = api.post(reverse("tickets:booking-list"), {"event_id": str(event.id)}, format="json")
    assert booked.status_code == 201
    booking_id = booked.json()["id"]
    verified = staff_api.post(
        reverse("tickets:booking-verify-payment", args=[booking_id]),
        {"payment_reference": "PAY-E2E"},
        format="json",
    )
    assert verified.status_code == 200

    wait_for(lambda: Booking.objects.get(id=booking_id).tickets_emailed_at is not None)

    tickets = Ticket.objects.filter(booking_id=booking_id)
    assert sorted(t.seat.label for t in tickets) == ["A1", "A2"]
    assert set(Seat.objects.values_list("label", "status")) == {
        ("A1", SeatStatus.BOOKED),
        ("A2", SeatStatus.BOOKED),
        ("A3", SeatStatus.AVAILABLE),
    }
    jobs = {j.task: j for j in Job.objects.filter(task__startswith="tickets.")}
    assert jobs["tickets.generate_tickets"].status == "completed"
    assert jobs["tickets.generate_tickets"].result["status"] == "done"
    assert jobs["tickets.email_tickets"].status == "completed"

    (message,) = worker_mailbox.messages()
    assert message["To"] == "fan@example.com"
    assert message["Subject"] == "Your tickets for Spring Gala"
    (attachment,) = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    document = attachment.get_payload(decode=True)
    assert document.startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page\b", document)) == 2  # one page (and QR) per seat
    download = api.get(reverse("tickets:booking-tickets-pdf", args=[booking_id]))
    assert download.content == document
    status = api.get(reverse("tickets:booking-detail", args=[booking_id])).json()
    assert status["status"] == "paid" and status["ticket_generation"] == {"status": "done"}


def run_on_worker(task) -> dict:
    result = task.delay()
    return result.get(timeout=30)


def connect_then_run(user, job) -> tuple[dict, dict]:
    """Open the user's socket, run the job on the worker, return (job result, message)."""
    token = access_token(user)

    async def scenario():
        communicator = WebsocketCommunicator(
            application, "/ws/tickets/", headers=ORIGIN, subprotocols=["bearer", token]
        )
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        assert (await communicator.receive_json_from(timeout=10))["type"] == "connected"
        outcome = await sync_to_async(run_on_worker)(job)
        message = await communicator.receive_json_from(timeout=15)
        await communicator.disconnect()
        return outcome, message

    return async_to_sync(scenario)()


def test_expired_lock_is_released_by_the_worker_and_the_user_told_over_websocket(
    tickets_worker,
):
    event = EventFactory()
    seat = SeatFactory(event=event, label="K7", status=SeatStatus.LOCKED)
    fan = UserFactory()
    past = timezone.now() - timedelta(seconds=5)
    lock = SeatLock.objects.create(
        seat=seat, event=event, user=fan, created_at=past - timedelta(minutes=10), expires_at=past
    )

    outcome, message = connect_then_run(fan, release_expired_locks)

    assert outcome["released"] == 1 and outcome["notified"] == 1
    assert message["type"] == "seat_locks.expired"
    assert message["seat_ids"] == [str(seat.id)] and message["seat_labels"] == ["K7"]
    assert Seat.objects.get(id=seat.id).status == SeatStatus.AVAILABLE
    lock.refresh_from_db()
    assert lock.status == "expired"


def test_expired_reservation_is_released_by_the_worker_and_the_user_told_over_websocket(
    tickets_worker,
):
    event = EventFactory()
    seats = [SeatFactory(event=event, label=f"R{n}") for n in (1, 2)]
    fan = UserFactory()
    services.seat_lock_acquire(event=event, seat_ids=[s.id for s in seats], user=fan)
    booking = services.booking_create(event=event, user=fan)
    # The payment window has passed.
    past = timezone.now() - timedelta(seconds=1)
    Booking.objects.filter(id=booking.id).update(expires_at=past)
    ReservationExpiry.objects.filter(reservation=booking).update(expires_at=past)

    outcome, message = connect_then_run(fan, process_expired_reservations)

    assert outcome["expired"] == 1 and outcome["seats_released"] == 2
    assert message["type"] == "reservation.expired"
    assert message["booking_id"] == str(booking.id)
    assert message["seat_labels"] == ["R1", "R2"]
    assert Booking.objects.get(id=booking.id).status == BookingStatus.EXPIRED
    assert set(Seat.objects.values_list("status", flat=True)) == {SeatStatus.AVAILABLE}
    assert ReservationExpiry.objects.get(reservation=booking).processed is True


def test_failed_generation_lands_in_the_queue_and_the_sweep_retries_it(tickets_worker):
    # A paid booking whose seats went missing: the attempt at once cannot succeed.
    booking = paid_booking(seats=1)
    BookingSeat.objects.filter(booking=booking).update(active=False)

    first = generate_tickets.delay(str(booking.id)).get(timeout=30)

    assert first["status"] == GenerationStatus.PENDING and first["attempts"] == 1
    entry = TicketGeneration.objects.get(booking=booking)
    assert "holds no seats" in entry.last_error and entry.next_attempt_at > timezone.now()

    # Someone fixes the data; the row comes due; the 3-minute job picks it up.
    BookingSeat.objects.filter(booking=booking).update(active=True)
    TicketGeneration.objects.filter(id=entry.id).update(next_attempt_at=timezone.now())
    swept = process_ticket_generation_queue.delay().get(timeout=30)

    assert swept == {"due": 1, "enqueued": 1, "already_queued": 0}
    wait_for(lambda: TicketGeneration.objects.get(id=entry.id).status == GenerationStatus.DONE)
    entry.refresh_from_db()
    assert entry.attempts == 2 and entry.processed_at is not None
    assert Ticket.objects.filter(booking=booking).count() == 1
