"""An email backend whose SMTP server is down: every send raises SMTPServerDisconnected."""

from smtplib import SMTPServerDisconnected

from django.core.mail.backends.base import BaseEmailBackend


class SmtpDownBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("connection unexpectedly closed")
