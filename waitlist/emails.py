"""Customer emails: text + HTML templates, sent through Django's email backend."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from waitlist.links import Purpose, hold_link_url
from waitlist.models import Notification, NotificationKind

TEMPLATES = {
    NotificationKind.OFFER: "waitlist/email/offer",
    NotificationKind.BOOKED: "waitlist/email/booked",
}


def notification_context(notification: Notification) -> dict:
    hold = notification.hold
    tenant = notification.tenant
    context = {
        "tenant": tenant,
        "entry": notification.entry,
        "hold": hold,
        "slot": hold.slot if hold else None,
    }
    if notification.kind == NotificationKind.OFFER and hold is not None:
        context["confirm_url"] = hold_link_url(
            hold=hold, purpose=Purpose.CONFIRM, tenant_slug=tenant.slug
        )
        context["decline_url"] = hold_link_url(
            hold=hold, purpose=Purpose.DECLINE, tenant_slug=tenant.slug
        )
        context["hold_minutes"] = max(
            1, round((hold.expires_at - hold.offered_at).total_seconds() / 60)
        )
    return context


def notification_message(notification: Notification) -> EmailMultiAlternatives:
    base = TEMPLATES[NotificationKind(notification.kind)]
    context = notification_context(notification)
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    text = render_to_string(f"{base}.txt", context)
    html = render_to_string(f"{base}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={"X-Waitlist-Notification": str(notification.pk)},
        connection=get_connection(settings.WAITLIST_EMAIL_BACKEND, fail_silently=False),
    )
    message.attach_alternative(html, "text/html")
    return message


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: connection trouble and 4xx SMTP replies, not a refused address."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPException | OSError)
