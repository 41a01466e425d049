"""Ticket generation: tickets + PDF + email job, the retry queue, idempotency, admin mail."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from tickets import pdf, services
from tickets.models import GenerationStatus, Ticket, TicketGeneration, TicketPdf
from tickets.tests.conftest import T0
from tickets.tests.factories import BookingFactory, paid_booking
from tickets.tests.ledger import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_renderer(monkeypatch):
    """The PDF renderer fails (a font missing, a bug): generation must survive it."""

    def fail(document):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(pdf, "render_tickets_pdf", fail)


def test_generation_creates_one_ticket_per_seat_a_pdf_and_an_email_job(clock):
    booking = paid_booking(seats=3)

    outcome = services.ticket_generation_run(booking_id=booking.id)

    assert outcome["status"] == "done" and outcome["tickets"] == 3 and outcome["created"] == 3
    tickets = list(Ticket.objects.filter(booking=booking))
    assert len(tickets) == 3 and len({t.code for t in tickets}) == 3
    document = TicketPdf.objects.get(booking=booking)
    assert bytes(document.content).startswith(b"%PDF") and document.ticket_count == 3
    assert Job.objects.get(job_key=services.email_job_key(booking.id)).queue == "tickets.email"
    assert not TicketGeneration.objects.exists()


def test_generation_run_twice_never_makes_a_second_ticket_for_a_seat(clock):
    booking = paid_booking(seats=2)
    services.ticket_generation_run(booking_id=booking.id)
    codes = set(Ticket.objects.values_list("code", flat=True))

    outcome = services.ticket_generation_run(booking_id=booking.id)

    assert outcome["created"] == 0
    assert set(Ticket.objects.values_list("code", flat=True)) == codes
    assert Job.objects.filter(task="tickets.email_tickets").count() == 1  # deduplicated


def test_the_database_refuses_a_second_ticket_for_a_seat(clock):
    booking = paid_booking(seats=1)
    services.ticket_generation_run(booking_id=booking.id)
    ticket = Ticket.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(
            booking=booking, seat=ticket.seat, code="another", created_at=ticket.created_at
        )


def test_a_failed_attempt_creates_the_queue_row_with_every_field(clock, staff, broken_renderer):
    booking = paid_booking(seats=1, verified_by=staff)

    outcome = services.ticket_generation_run(booking_id=booking.id)

    entry = TicketGeneration.objects.get(booking=booking)
    assert outcome["status"] == GenerationStatus.PENDING
    assert entry.admin == staff
    assert (entry.attempts, entry.max_attempts) == (1, 5)
    assert entry.last_attempt_at == T0 and entry.created_at == T0
    assert entry.next_attempt_at - entry.last_attempt_at == timedelta(minutes=3)
    assert "renderer exploded" in entry.last_error
    assert entry.processed_at is None


def test_failed_attempts_back_off_with_increasing_delays(clock, broken_renderer):
    booking = paid_booking(seats=1)
    delays = []
    for _ in range(4):
        services.ticket_generation_run(booking_id=booking.id)
        entry = TicketGeneration.objects.get(booking=booking)
        delays.append(entry.next_attempt_at - entry.last_attempt_at)
        clock.shift(delays[-1])

    assert delays == [timedelta(minutes=m) for m in (3, 6, 12, 24)]


def test_after_max_attempts_the_row_is_failed_kept_and_admins_are_mailed(
    clock, mailoutbox, broken_renderer
):
    booking = paid_booking(seats=1)
    for _ in range(5):
        services.ticket_generation_run(booking_id=booking.id)

    entry = TicketGeneration.objects.get(booking=booking)
    assert entry.status == GenerationStatus.FAILED and entry.attempts == 5
    assert [m.subject for m in mailoutbox] == [
        f"[Django] Ticket generation failed for booking {booking.id}"
    ]
    assert mailoutbox[0].to == ["admin@localhost"]
    assert "renderer exploded" in mailoutbox[0].body
    # The sweep leaves failed rows alone; they stay for debugging.
    clock.shift(timedelta(days=1))
    assert services.ticket_generation_queue_process()["due"] == 0
    assert TicketGeneration.objects.filter(status=GenerationStatus.FAILED).count() == 1


def test_the_queue_sweep_hands_due_rows_to_generation_jobs_once(clock, broken_renderer):
    due = paid_booking(seats=1)
    later = paid_booking(seats=1)
    services.ticket_generation_run(booking_id=due.id)
    clock.shift(timedelta(minutes=2))
    services.ticket_generation_run(booking_id=later.id)
    clock.shift(timedelta(minutes=1, seconds=1))

    outcome = services.ticket_generation_queue_process()

    assert outcome == {"due": 1, "enqueued": 1, "already_queued": 0}
    assert Job.objects.filter(job_key=services.generation_job_key(due.id)).count() == 1
    # Leased: the next sweep does not hand the same row out again while its job waits.
    assert services.ticket_generation_queue_process()["due"] == 0


def test_a_successful_retry_marks_the_row_done(clock, monkeypatch):
    booking = paid_booking(seats=2)
    real = pdf.render_tickets_pdf
    monkeypatch.setattr(pdf, "render_tickets_pdf", lambda d: (_ for _ in ()).throw(OSError("x")))
    services.ticket_generation_run(booking_id=booking.id)
    monkeypatch.setattr(pdf, "render_tickets_pdf", real)
    clock.shift(timedelta(minutes=3))

    assert services.ticket_generation_run(booking_id=booking.id)["status"] == "done"

    entry = TicketGeneration.objects.get(booking=booking)
    assert entry.status == GenerationStatus.DONE and entry.attempts == 2
    assert entry.processed_at is not None
    assert Ticket.objects.filter(booking=booking).count() == 2


def test_admin_retry_gives_a_failed_row_fresh_attempts_and_a_job(
    clock, staff, mailoutbox, broken_renderer
):
    booking = paid_booking(seats=1)
    for _ in range(5):
        services.ticket_generation_run(booking_id=booking.id)

    result = services.ticket_generation_retry(booking=booking, admin=staff)

    entry = TicketGeneration.objects.get(booking=booking)
    assert entry.status == GenerationStatus.PENDING and entry.attempts == 0
    assert Job.objects.get(id=result.id).job_key == services.generation_job_key(booking.id)


def test_generation_for_an_unpaid_or_missing_booking_does_nothing():
    assert services.ticket_generation_run(booking_id=BookingFactory().id)["status"] == "skipped"
    assert (
        services.ticket_generation_run(booking_id="00000000-0000-0000-0000-000000000000")["status"]
        == "missing_booking"
    )


def test_the_tickets_email_carries_the_pdf_and_is_sent_once(clock, mailoutbox):
    booking = paid_booking(seats=2)
    services.ticket_generation_run(booking_id=booking.id)

    first = services.tickets_email_send(booking_id=booking.id)
    second = services.tickets_email_send(booking_id=booking.id)

    assert first["status"] == "sent" and second["status"] == "already_sent"
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [booking.user.email]
    (name, content, mimetype), *_ = message.attachments
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    assert "2 tickets" in message.body
