"""Secrets never printed: passwords inside URLs are masked wherever text could show them.

Connection strings carry credentials (``redis://:pw@host``, ``postgres://user:pw@host/db``,
``smtp+tls://user:pw@host``), and Django's own masking only goes by a setting's *name*
(``…KEY``, ``…PASSWORD``): ``REDIS_URL``, ``CELERY_BROKER_URL``, the cache's ``LOCATION``
or the channel layer's ``address`` would appear in full on a debug page or in an error
email. Here:

- ``SecretsReporterFilter`` (``DEFAULT_EXCEPTION_REPORTER_FILTER``): the debug 500 page
  and the admins' error emails mask the password of every URL in settings, request
  metadata and the traceback's local variables, and also hide settings named like a broker
  or DSN; ``SecretsExceptionReporter`` (``DEFAULT_EXCEPTION_REPORTER``) does the same for
  the exception's message (a connection error may quote its URL);
- ``MaskSecretsFilter`` (a logging filter on the console handler, and on Celery's): log
  lines and tracebacks get the same treatment.
"""

import logging
import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

MASK = "********"

# scheme://[user]:password@ — the password may contain ':' or an unencoded '@' (the last '@'
# before the host counts), never '/' or whitespace.
_URL_CREDENTIALS = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^\s/]+?)(?P<tail>@[^@\s/]*(?:[/\s]|$))"
)


def mask_url_credentials(text: str) -> str:
    """``text`` with the password part of every ``scheme://user:password@host`` masked."""
    if "://" not in text:
        return text
    return _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)


class SecretsReporterFilter(SafeExceptionReporterFilter):
    cleansed_substitute = MASK
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DSN|BROKER|CREDENTIAL",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key, value):
        # Django recurses into dicts, lists and tuples through this method: every string
        # leaf, whatever its key, has the password of its URLs masked.
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return mask_url_credentials(cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._cleanse_variable(name, value)) for name, value in variables]

    def _cleanse_variable(self, name, value):
        if isinstance(value, str) and value == self.cleansed_substitute:
            return value
        if isinstance(name, str) and self.hidden_settings.search(name):
            return self.cleansed_substitute
        if isinstance(value, str | dict | list | tuple):
            try:
                return self.cleanse_setting(name, value)
            except Exception:  # an odd container must not break the error page
                return value
        return value


class SecretsExceptionReporter(ExceptionReporter):
    def get_traceback_data(self):
        data = super().get_traceback_data()
        if isinstance(data.get("exception_value"), str):
            data["exception_value"] = mask_url_credentials(data["exception_value"])
        for frame in data.get("frames", []):
            cause = frame.get("exc_cause")
            if cause is not None and "://" in str(cause):
                frame["exc_cause"] = mask_url_credentials(str(cause))
        return data


class MaskSecretsFilter(logging.Filter):
    """Masks URL passwords in a record's message and traceback (never drops a record)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        masked = mask_url_credentials(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_url_credentials(record.exc_text)
        return True
