"""Signed ticket codes: what the QR code carries and the door scanner checks.

The code is the ticket id signed with the project's SECRET_KEY (HMAC-SHA256 through
django.core.signing), under a salt of its own so no other signed value of the project can
pass as a ticket. SECRET_KEY_FALLBACKS keeps old codes valid across a key rotation.
"""

import uuid

from django.core import signing

SALT = "tickets.ticket-code.v1"


def ticket_code_make(*, ticket_id: uuid.UUID) -> str:
    return signing.dumps(ticket_id.hex, salt=SALT)


def ticket_code_read(*, code: str) -> uuid.UUID | None:
    """The ticket id inside a genuine code, or None for anything forged or malformed."""
    try:
        value = signing.loads(code.strip(), salt=SALT)
        return uuid.UUID(hex=value)
    except (signing.BadSignature, ValueError, TypeError, AttributeError):
        return None
