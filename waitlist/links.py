"""Signed confirm/decline links for a hold.

A token is ``django.core.signing`` over {tenant, hold, purpose, expiry}, with the purpose in
the salt too, so a decline token is not a valid confirm token and vice versa. The link
expires with the hold; it is single-use because a hold leaves ``active`` exactly once (the
services do that with a conditional update under a row lock), and every later use finds it
closed. Nothing is stored per token.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.db import models
from django.urls import reverse

from waitlist.models import Hold, Tenant

SALT = "waitlist.hold-link"
# Outer bound on any link's age, whatever the payload says: a hold never lasts this long.
MAX_AGE_SECONDS = 7 * 24 * 3600


class Purpose(models.TextChoices):
    CONFIRM = "confirm", "Confirm"
    DECLINE = "decline", "Decline"


class LinkRejected(Exception):
    """The link cannot be used. ``reason``: invalid, expired, used or closed."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class LinkClaim:
    tenant_id: int
    hold_id: int
    purpose: str
    expires_at: int


def _salt(purpose: str) -> str:
    return f"{SALT}:{purpose}"


def hold_link_token(*, hold: Hold, purpose: str) -> str:
    payload = {
        "t": hold.tenant_id,
        "h": hold.pk,
        "p": purpose,
        "e": int(hold.expires_at.timestamp()),
    }
    return signing.dumps(payload, salt=_salt(purpose))


def hold_link_url(*, hold: Hold, purpose: str, tenant_slug: str) -> str:
    token = hold_link_token(hold=hold, purpose=purpose)
    path = reverse(
        f"waitlist-public:offer-{purpose}", kwargs={"tenant": tenant_slug, "token": token}
    )
    return urljoin(settings.WAITLIST_PUBLIC_BASE_URL, path)


def hold_link_verify(*, token: str, tenant: Tenant, purpose: str, now: datetime) -> LinkClaim:
    """The link's claim if its signature, purpose, tenant and expiry are right."""
    invalid = LinkRejected(
        "invalid", "This link is not valid. Please use the link from your most recent email."
    )
    try:
        payload = signing.loads(token, salt=_salt(purpose), max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise LinkRejected("expired", "This offer has expired.") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise invalid from None
    if not isinstance(payload, dict):
        raise invalid
    try:
        claim = LinkClaim(
            tenant_id=int(payload["t"]),
            hold_id=int(payload["h"]),
            purpose=str(payload["p"]),
            expires_at=int(payload["e"]),
        )
    except (KeyError, TypeError, ValueError):
        raise invalid from None
    # A genuine link of another tenant, or of the other purpose, is still the wrong link.
    if claim.purpose != purpose or claim.tenant_id != tenant.pk:
        raise invalid
    if now.timestamp() >= claim.expires_at:
        raise LinkRejected("expired", "This offer has expired.")
    return claim
