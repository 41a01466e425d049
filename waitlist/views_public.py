"""Public confirm/decline pages for customers, reached from the offer email.

GET shows what the link will do and a button; only POST changes anything. Mail scanners and
link previews fetch GET links on their own, and must not confirm or decline an offer.

The POST is exempt from CSRF protection on purpose: the signed token in the URL is the only
credential (no cookie or session is involved), and whoever holds it can act with it anyway.
"""

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from waitlist import links, services
from waitlist.errors import HoldExpired, HoldNotActive
from waitlist.models import Hold, HoldStatus, Tenant
from waitlist.throttles import PublicLinkThrottle

log = logging.getLogger(__name__)

REJECTIONS = {
    # reason: (HTTP status, page title)
    "invalid": (400, "This link is not valid"),
    "expired": (410, "This offer has expired"),
    "used": (409, "This link has already been used"),
    "closed": (410, "This offer is no longer available"),
    "throttled": (429, "Too many requests"),
}


def rejected(request: HttpRequest, reason: str, message: str) -> HttpResponse:
    status, title = REJECTIONS[reason]
    return render(
        request,
        "waitlist/public/rejected.html",
        {"title": title, "message": message, "reason": reason},
        status=status,
    )


def hold_closed_page(request: HttpRequest, hold_status: str) -> HttpResponse:
    if hold_status == HoldStatus.CONFIRMED:
        return rejected(request, "used", "You have already confirmed this place.")
    if hold_status == HoldStatus.DECLINED:
        return rejected(request, "used", "You have already declined this offer.")
    if hold_status == HoldStatus.EXPIRED:
        return rejected(request, "expired", "The time to answer this offer has run out.")
    return rejected(request, "closed", "This offer was withdrawn.")


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class OfferDecisionView(View):
    purpose: str = links.Purpose.CONFIRM
    http_method_names = ["get", "post", "head"]

    def dispatch(self, request: HttpRequest, tenant: str, token: str) -> HttpResponse:
        throttle = PublicLinkThrottle()
        if not throttle.allow_request(request, self):
            response = rejected(request, "throttled", "Please wait a moment and try again.")
            wait = throttle.wait()
            if wait:
                response["Retry-After"] = str(int(wait) + 1)
            return response
        now = timezone.now()
        tenant_row = Tenant.objects.filter(slug=tenant).first()
        if tenant_row is None:
            return rejected(request, "invalid", "This link does not belong to any business here.")
        try:
            claim = links.hold_link_verify(
                token=token, tenant=tenant_row, purpose=self.purpose, now=now
            )
        except links.LinkRejected as exc:
            log.info("rejected %s link for tenant %s: %s", self.purpose, tenant, exc.reason)
            return rejected(request, exc.reason, exc.message)
        hold = (
            Hold.objects.select_related("slot", "entry", "tenant")
            .filter(pk=claim.hold_id, tenant=tenant_row)
            .first()
        )
        if hold is None:
            return rejected(request, "closed", "This offer no longer exists.")
        if hold.status != HoldStatus.ACTIVE:
            return hold_closed_page(request, hold.status)
        if hold.expires_at <= now:
            return hold_closed_page(request, HoldStatus.EXPIRED)
        self.hold = hold
        return super().dispatch(request, tenant=tenant, token=token)

    def get(self, request: HttpRequest, tenant: str, token: str) -> HttpResponse:
        return render(
            request,
            "waitlist/public/offer.html",
            {
                "hold": self.hold,
                "slot": self.hold.slot,
                "tenant": self.hold.tenant,
                "purpose": self.purpose,
            },
        )

    def post(self, request: HttpRequest, tenant: str, token: str) -> HttpResponse:
        actor = services.Actor(label=f"customer <{self.hold.entry.email}>"[:150])
        try:
            if self.purpose == links.Purpose.CONFIRM:
                services.hold_confirm(hold=self.hold, actor=actor)
            else:
                services.hold_decline(hold=self.hold, actor=actor)
        except HoldNotActive as exc:
            return hold_closed_page(request, exc.hold_status)
        except HoldExpired:
            return hold_closed_page(request, HoldStatus.EXPIRED)
        return render(
            request,
            "waitlist/public/done.html",
            {
                "hold": self.hold,
                "slot": self.hold.slot,
                "tenant": self.hold.tenant,
                "purpose": self.purpose,
            },
        )


class OfferConfirmView(OfferDecisionView):
    purpose = links.Purpose.CONFIRM


class OfferDeclineView(OfferDecisionView):
    purpose = links.Purpose.DECLINE
