"""An email backend for tests that run a real worker: a worker's locmem outbox is invisible
to the test process, so messages are recorded in the test Redis database instead.

Failures on cue, by the recipient's local part:
- ``flakyN...``: the first N sends to that address fail with a transient SMTP error;
- ``refused...``: every send fails with a permanent one (recipient refused).
"""

import json
import re
import smtplib
import time

import redis
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

RECORD_KEY = "waitlist-test:mail"
FAILURES_KEY = "waitlist-test:failures:{}"


def redis_client() -> redis.Redis:
    # The broker's Redis: the test process and the worker processes share it.
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2)


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        client = redis_client()
        for message in email_messages:
            recipient = message.to[0]
            local = recipient.split("@")[0]
            if local.startswith("refused"):
                raise smtplib.SMTPRecipientsRefused({recipient: (550, b"no such mailbox")})
            flaky = re.match(r"flaky(\d+)", local)
            if flaky and client.incr(FAILURES_KEY.format(recipient)) <= int(flaky.group(1)):
                raise smtplib.SMTPServerDisconnected("test: the SMTP server went away")
            html = next((body for body, kind in message.alternatives if kind == "text/html"), "")
            record = {
                "to": list(message.to),
                "subject": message.subject,
                "body": message.body,
                "html": html,
                "at": time.time(),
            }
            client.rpush(RECORD_KEY, json.dumps(record))
        return len(email_messages)


def recorded_mail() -> list[dict]:
    return [json.loads(item) for item in redis_client().lrange(RECORD_KEY, 0, -1)]
