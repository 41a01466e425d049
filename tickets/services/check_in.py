"""Check-in at the door: a scanned code admits its holder once."""

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from tickets.codes import ticket_code_read
from tickets.models import Ticket


class CheckIn:
    VALID = "valid"
    ALREADY_USED = "already_used"
    FORGED = "forged"


def ticket_check_in(*, code: str, by: AbstractBaseUser | None) -> tuple[str, Ticket | None]:
    """Verify a scanned code and admit its holder once. Returns (outcome, ticket)."""
    ticket_id = ticket_code_read(code=code)
    if ticket_id is None:
        return CheckIn.FORGED, None
    ticket = Ticket.objects.select_related("seat", "booking__event").filter(id=ticket_id).first()
    if ticket is None or ticket.code != code.strip():
        return CheckIn.FORGED, None
    # The conditional UPDATE admits exactly one of two simultaneous scans.
    admitted = Ticket.objects.filter(id=ticket.id, used_at__isnull=True).update(
        used_at=timezone.now(), checked_in_by=by
    )
    ticket.refresh_from_db(fields=["used_at", "checked_in_by"])
    return (CheckIn.VALID if admitted else CheckIn.ALREADY_USED), ticket
