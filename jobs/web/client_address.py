"""Who is at the other end: the one client address every limit and allow-list uses.

The throttles (DRF's, for every API view and the waitlist's public links), the login
lockout (django-axes) and the IP allow-list of ``/metrics`` all key on this address, so a
client cannot look like someone else to one of them and like itself to another.

``X-Forwarded-For`` is believed only as far as the project trusts proxies: DRF's
``NUM_PROXIES``, set from ``TRUSTED_PROXY_COUNT`` (config/settings/base.py). At 0, the
default, the address is the TCP peer (``REMOTE_ADDR``) and the header is ignored, since
anyone can send it. At N, it is the N-th entry from the right of the header: the address the
outermost of the N trusted proxies saw; entries further left were written by the client.
"""

import ipaddress
from typing import cast

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest | Request) -> str:
    """The client's IP address, as a string ("" when the server gave none)."""
    peer = request.META.get("REMOTE_ADDR", "")
    # None (the setting missing) would make DRF key on the whole header, which the client
    # writes: treated as 0, trust no header.
    if not api_settings.NUM_PROXIES:
        return peer
    # DRF's own rule, so that every throttle (they all call get_ident) agrees with this
    # function; get_ident reads only ``META``, which both request types have.
    forwarded = BaseThrottle().get_ident(cast(Request, request))
    try:
        ipaddress.ip_address(forwarded)
    except ValueError:
        # Not an address: the request did not come through the proxies the settings
        # promise (or one of them writes junk). The peer is all that is known.
        return peer
    return forwarded
