"""The REST API: JWT, status codes, 400 naming the field, 404 for unknown, 409 for conflicts."""

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.support.auth import jwt_client
from tickets import pdf, services
from tickets.models import BookingStatus, SeatStatus
from tickets.tests.factories import PASSWORD, BookingFactory, SeatFactory, paid_booking
from tickets.tests.ledger import Job

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"tickets:{name}", args=args)


def test_a_token_from_the_auth_endpoint_opens_the_api(client, user, event, seats):
    token = client.post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}
    ).json()["access"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api.post(url("seat-lock", event.id), {"seat_ids": [str(seats[0].id)]}, format="json")

    assert response.status_code == 201


def test_writes_need_a_token(event, seats):
    response = APIClient().post(
        url("seat-lock", event.id), {"seat_ids": [str(seats[0].id)]}, format="json"
    )
    assert response.status_code == 401


def test_events_list_and_seat_availability(api, event, seats, other_user):
    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id], user=other_user)

    events = api.get(url("event-list")).json()
    seat_map = api.get(url("event-seats", event.id)).json()
    free = api.get(url("event-seats", event.id), {"status": "available"}).json()

    assert events["count"] == 1
    assert events["results"][0]["seats_available"] == 9
    assert events["results"][0]["seats_total"] == 10
    assert seat_map["counts"] == {"available": 9, "locked": 1, "reserved": 0, "booked": 0}
    assert len(seat_map["seats"]) == 10 and len(free["seats"]) == 9
    assert api.get(url("event-detail", event.id)).json()["name"] == event.name


def test_lock_then_book_then_read_the_booking(api, event, seats):
    locked = api.post(
        url("seat-lock", event.id),
        {"seat_ids": [str(seats[0].id), str(seats[1].id)]},
        format="json",
    )
    assert locked.status_code == 201
    assert [lock["seat_label"] for lock in locked.json()["locks"]] == ["B1", "B2"]
    assert len(api.get(url("my-locks")).json()) == 2

    created = api.post(url("booking-list"), {"event_id": str(event.id)}, format="json")

    assert created.status_code == 201
    booking = created.json()
    assert booking["status"] == "reserved" and booking["total_amount"] == "50.00"
    assert [s["label"] for s in booking["seats"]] == ["B1", "B2"]
    detail = api.get(url("booking-detail", booking["id"])).json()
    assert detail["id"] == booking["id"] and detail["ticket_generation"] is None
    assert api.get(url("booking-list")).json()["count"] == 1


def test_a_taken_seat_answers_409_with_a_clear_message(api, event, seats, other_user):
    services.seat_lock_acquire(event=event, seat_ids=[seats[0].id], user=other_user)

    response = api.post(url("seat-lock", event.id), {"seat_ids": [str(seats[0].id)]}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "seat_unavailable"
    assert body["detail"] == "Seat(s) B1 are not available (someone else holds them)."
    assert body["seat_ids"] == [str(seats[0].id)]


def test_the_seat_limit_answers_409(settings, api, event, seats):
    settings.TICKETS_MAX_SEATS_PER_USER = 2

    response = api.post(
        url("seat-lock", event.id), {"seat_ids": [str(s.id) for s in seats[:3]]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "seat_limit_exceeded"
    assert "at most 2 seats" in response.json()["detail"]


def test_unlock_releases_the_callers_seats(api, event, seats):
    api.post(url("seat-lock", event.id), {"seat_ids": [str(seats[0].id)]}, format="json")

    response = api.post(
        url("seat-unlock", event.id), {"seat_ids": [str(seats[0].id)]}, format="json"
    )

    assert response.json() == {"released": [str(seats[0].id)]}
    seats[0].refresh_from_db()
    assert seats[0].status == SeatStatus.AVAILABLE


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "seat_ids"),
        ({"seat_ids": []}, "seat_ids"),
        ({"seat_ids": "B1"}, "seat_ids"),
        ({"seat_ids": ["not-a-uuid"]}, "seat_ids"),
        ({"seat_ids": [str(uuid.UUID(int=1))] * 2}, "seat_ids"),
    ],
)
def test_bad_lock_input_is_a_400_naming_the_field(api, event, body, field):
    response = api.post(url("seat-lock", event.id), body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_a_seat_of_another_event_is_a_400_naming_seat_ids(api, event, seats):
    response = api.post(
        url("seat-lock", event.id), {"seat_ids": [str(SeatFactory().id)]}, format="json"
    )

    assert response.status_code == 400
    assert "seat_ids" in response.json()


def test_malformed_json_is_a_400(api, event):
    response = api.post(url("seat-lock", event.id), data="{nope", content_type="application/json")
    assert response.status_code == 400


def test_bad_booking_input_is_a_400_naming_the_field(api):
    assert "event_id" in api.post(url("booking-list"), {}, format="json").json()
    response = api.post(url("booking-list"), {"event_id": "x"}, format="json")
    assert response.status_code == 400 and "event_id" in response.json()


def test_booking_without_locks_is_a_409(api, event):
    response = api.post(url("booking-list"), {"event_id": str(event.id)}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "seat_not_locked"


def test_unknown_things_are_404(api, staff_api):
    unknown = uuid.uuid4()
    assert api.get(url("event-detail", unknown)).status_code == 404
    assert api.get(url("event-seats", unknown)).status_code == 404
    assert api.post(url("seat-lock", unknown), {"seat_ids": [str(unknown)]}).status_code == 404
    assert api.post(url("booking-list"), {"event_id": str(unknown)}).status_code == 404
    assert api.get(url("booking-detail", unknown)).status_code == 404
    assert staff_api.post(url("booking-verify-payment", unknown)).status_code == 404
    assert staff_api.post(url("job-run", "no-such-job")).status_code == 404
    assert api.get("/api/tickets/bookings/not-a-uuid/").status_code == 404


def test_someone_elses_booking_is_404(api, other_user):
    booking = paid_booking(user=other_user)
    assert api.get(url("booking-detail", booking.id)).status_code == 404
    assert api.get(url("booking-tickets-pdf", booking.id)).status_code == 404


def test_admin_endpoints_are_for_staff_only(api, user):
    booking = paid_booking(user=user)
    assert api.post(url("booking-verify-payment", booking.id)).status_code == 403
    assert api.post(url("booking-retry-generation", booking.id)).status_code == 403
    assert api.post(url("job-run", "release-expired-locks")).status_code == 403
    assert api.get(url("generation-queue")).status_code == 403
    assert api.post(url("check-in"), {"code": "x"}).status_code == 403


def test_staff_verifies_payment_and_generation_is_queued(staff_api, api, event, seats):
    api.post(url("seat-lock", event.id), {"seat_ids": [str(seats[0].id)]}, format="json")
    booking_id = api.post(url("booking-list"), {"event_id": str(event.id)}, format="json").json()[
        "id"
    ]

    response = staff_api.post(
        url("booking-verify-payment", booking_id), {"payment_reference": "PAY-42"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == BookingStatus.PAID and body["payment_reference"] == "PAY-42"
    assert body["ticket_generation"] == {"status": "in_progress"}
    assert Job.objects.filter(job_key=services.generation_job_key(booking_id)).exists()


def test_tickets_pdf_download_before_and_after_generation(api, user):
    booking = paid_booking(user=user, seats=2)
    assert api.get(url("booking-tickets-pdf", booking.id)).status_code == 409

    services.ticket_generation_run(booking_id=booking.id)
    response = api.get(url("booking-tickets-pdf", booking.id))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    detail = api.get(url("booking-detail", booking.id)).json()
    assert len(detail["tickets"]) == 2 and detail["ticket_generation"] == {"status": "done"}
    assert detail["tickets_pdf_url"].endswith("/tickets.pdf")


def test_retry_generation_and_run_jobs_by_hand(staff_api):
    booking = paid_booking()

    retried = staff_api.post(url("booking-retry-generation", booking.id))
    ran = staff_api.post(url("job-run", "process-ticket-generation-queue"))
    again = staff_api.post(url("job-run", "process-ticket-generation-queue"))

    assert retried.status_code == 202 and retried.json()["queued"] is True
    assert ran.status_code == 202 and ran.json()["queued"] is True
    assert again.json() == {**ran.json(), "queued": False}  # the same run, not a second
    for name in ("release-expired-locks", "process-expired-reservations"):
        assert staff_api.post(url("job-run", name)).status_code == 202
    tasks = set(Job.objects.values_list("task", flat=True))
    assert tasks == {
        "tickets.generate_tickets",
        "tickets.process_ticket_generation_queue",
        "tickets.release_expired_locks",
        "tickets.process_expired_reservations",
    }


def test_retry_generation_of_an_unpaid_booking_is_409(staff_api):
    response = staff_api.post(url("booking-retry-generation", BookingFactory().id))
    assert response.status_code == 409 and response.json()["code"] == "booking_state"


def test_queue_tables_are_visible_to_staff(clock, staff_api, monkeypatch):
    booking = paid_booking()
    monkeypatch.setattr(pdf, "render_tickets_pdf", lambda d: 1 / 0)
    services.ticket_generation_run(booking_id=booking.id)

    rows = staff_api.get(url("generation-queue"), {"status": "pending"}).json()["results"]
    assert rows[0]["booking_id"] == str(booking.id)
    assert set(rows[0]) >= {
        "admin_id",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_error",
        "status",
        "processed_at",
        "created_at",
    }
    assert staff_api.get(url("generation-queue"), {"status": "x"}).status_code == 400
    assert staff_api.get(url("reservation-expiry-queue")).status_code == 200
    assert staff_api.get(url("reservation-expiry-queue"), {"processed": "x"}).status_code == 400


def test_another_users_token_sees_only_their_bookings(user, other_user):
    paid_booking(user=user)
    paid_booking(user=other_user)

    assert jwt_client(user).get(url("booking-list")).json()["count"] == 1


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        42,
        None,
        {"seat_ids": [None]},
        {"seat_ids": [{"a": 1}]},
        {"event_id": []},
        {"code": ["x"]},
        {"payment_reference": "x" * 500},
        {"seat_ids": ["0" * 10000]},
    ],
)
def test_junk_never_causes_a_server_error(staff_api, event, body):
    booking = paid_booking()
    endpoints = [
        url("seat-lock", event.id),
        url("seat-unlock", event.id),
        url("booking-list"),
        url("booking-verify-payment", booking.id),
        url("check-in"),
    ]
    for endpoint in endpoints:
        response = staff_api.post(endpoint, body, format="json")
        assert response.status_code < 500, (endpoint, body, response.content)
        assert response.status_code != 200 or endpoint.endswith("verify-payment/")
