"""Check-in: a scanned code is valid once, then already used; anything else is forged."""

import uuid

import pytest
from django.urls import reverse

from tickets import services
from tickets.codes import ticket_code_make
from tickets.models import Ticket
from tickets.tests.factories import paid_booking

pytestmark = pytest.mark.django_db
CHECK_IN = reverse("tickets:check-in")


@pytest.fixture
def ticket(db):
    booking = paid_booking(seats=1)
    services.ticket_generation_run(booking_id=booking.id)
    return Ticket.objects.get(booking=booking)


def test_a_genuine_code_admits_once(staff_api, staff, ticket):
    first = staff_api.post(CHECK_IN, {"code": ticket.code}, format="json")
    second = staff_api.post(CHECK_IN, {"code": ticket.code}, format="json")

    assert first.status_code == 200 and first.json()["result"] == "valid"
    assert first.json()["ticket"]["seat_label"] == ticket.seat.label
    assert second.status_code == 409 and second.json()["result"] == "already_used"
    ticket.refresh_from_db()
    assert ticket.used_at is not None and ticket.checked_in_by == staff


def tamper(code: str) -> str:
    """Change the last character of the signature."""
    return code[:-1] + ("A" if code[-1] != "A" else "B")


@pytest.mark.parametrize(
    "forge",
    [
        tamper,
        lambda code: code.replace(code.split(":")[0], "ImZmZmYi"),  # another ticket id
        lambda code: "garbage",
    ],
)
def test_a_tampered_or_made_up_code_is_forged(staff_api, ticket, forge):
    response = staff_api.post(CHECK_IN, {"code": forge(ticket.code)}, format="json")

    assert response.status_code == 400
    assert response.json()["result"] == "forged"
    assert response.json()["code"] == ["Not a genuine ticket code."]
    ticket.refresh_from_db()
    assert ticket.used_at is None


def test_an_empty_code_is_a_400_naming_the_field(staff_api):
    response = staff_api.post(CHECK_IN, {"code": ""}, format="json")
    assert response.status_code == 400 and "code" in response.json()


def test_a_code_signed_for_a_ticket_that_does_not_exist_is_forged(staff_api, ticket):
    code = ticket_code_make(ticket_id=uuid.uuid4())

    response = staff_api.post(CHECK_IN, {"code": code}, format="json")

    assert response.json()["result"] == "forged"


def test_a_code_signed_with_another_key_is_forged(settings, ticket):
    settings.SECRET_KEY = "someone-elses-key"
    foreign = ticket_code_make(ticket_id=ticket.id)
    settings.SECRET_KEY = "local-development-key-not-for-production"

    outcome, _ = services.ticket_check_in(code=foreign, by=None)

    assert outcome == services.CheckIn.FORGED
