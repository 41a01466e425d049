"""Django admin: every model has pages; buttons and actions run the jobs."""

import pytest
from django.urls import reverse

from tickets import pdf, services
from tickets.models import (
    Booking,
    BookingStatus,
    GenerationStatus,
    TicketGeneration,
)
from tickets.tests.factories import (
    BookingSeatFactory,
    ReservationExpiryFactory,
    SeatLockFactory,
    StaffFactory,
    paid_booking,
)
from tickets.tests.ledger import Job

pytestmark = pytest.mark.django_db

MODELS = [
    "event",
    "seat",
    "seatlock",
    "booking",
    "bookingseat",
    "ticket",
    "ticketpdf",
    "reservationexpiry",
    "ticketgeneration",
]


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_every_model_has_a_changelist_and_change_page(admin_client):
    booking = paid_booking(seats=1)
    services.ticket_generation_run(booking_id=booking.id)
    SeatLockFactory()
    ReservationExpiryFactory()
    TicketGeneration.objects.create(
        booking=paid_booking(), next_attempt_at=booking.created_at, created_at=booking.created_at
    )

    for model in MODELS:
        changelist = admin_client.get(reverse(f"admin:tickets_{model}_changelist"))
        assert changelist.status_code == 200, model
        row = changelist.context["cl"].result_list[0]
        assert (
            admin_client.get(reverse(f"admin:tickets_{model}_change", args=[row.pk])).status_code
            == 200
        ), model


def test_the_generation_queue_page_shows_every_queue_field(admin_client):
    TicketGeneration.objects.create(
        booking=paid_booking(), next_attempt_at="2030-01-01T00:00Z", created_at="2030-01-01T00:00Z"
    )
    page = admin_client.get(reverse("admin:tickets_ticketgeneration_changelist"))
    html = page.content.decode()
    for column in ["Booking", "Admin", "Attempts", "Max attempts", "Next attempt at"]:
        assert column in html
    for column in ["Last attempt at", "Last error", "Status", "Processed at", "Created at"]:
        assert column.lower() in html.lower()


@pytest.mark.parametrize(
    ("model", "name", "task"),
    [
        ("seatlock", "release-expired-locks", "tickets.release_expired_locks"),
        (
            "reservationexpiry",
            "process-expired-reservations",
            "tickets.process_expired_reservations",
        ),
        (
            "ticketgeneration",
            "process-ticket-generation-queue",
            "tickets.process_ticket_generation_queue",
        ),
    ],
)
def test_run_now_buttons_queue_the_job(admin_client, model, name, task):
    changelist = admin_client.get(reverse(f"admin:tickets_{model}_changelist"))
    button = reverse(f"admin:tickets_{model}_run_job", args=[name])
    assert button in changelist.content.decode()

    response = admin_client.post(button)

    assert response.status_code == 302
    assert Job.objects.get(task=task).job_key == f"tickets.manual:{name}"
    assert admin_client.get(button).status_code == 405


def test_a_button_only_runs_its_own_models_jobs(admin_client):
    url = reverse("admin:tickets_seatlock_run_job", args=["process-ticket-generation-queue"])
    assert admin_client.post(url).status_code == 403
    assert not Job.objects.exists()


def test_retry_now_action_on_a_failed_generation_row(admin_client, monkeypatch):
    booking = paid_booking(seats=1)
    monkeypatch.setattr(pdf, "render_tickets_pdf", lambda d: 1 / 0)
    for _ in range(5):
        services.ticket_generation_run(booking_id=booking.id)
    entry = TicketGeneration.objects.get(booking=booking)
    assert entry.status == GenerationStatus.FAILED

    admin_client.post(
        reverse("admin:tickets_ticketgeneration_changelist"),
        {"action": "retry_now", "_selected_action": [entry.pk]},
    )

    entry.refresh_from_db()
    assert entry.status == GenerationStatus.PENDING and entry.attempts == 0
    assert Job.objects.filter(job_key=services.generation_job_key(booking.id)).exists()


def test_booking_actions_verify_payment_and_resend_email(admin_client):
    reserved = BookingSeatFactory().booking

    admin_client.post(
        reverse("admin:tickets_booking_changelist"),
        {"action": "verify_payment", "_selected_action": [reserved.pk]},
    )
    assert Booking.objects.get(pk=reserved.pk).status == BookingStatus.PAID

    admin_client.post(
        reverse("admin:tickets_booking_changelist"),
        {"action": "resend_tickets_email", "_selected_action": [reserved.pk]},
    )
    assert Job.objects.filter(job_key=services.email_job_key(reserved.pk)).exists()
