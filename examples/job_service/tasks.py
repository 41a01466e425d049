"""The handlers: ``registerHandler("SEND_EMAIL", ...)`` is a task declaration.

Thin: each takes the job's data, calls a service and returns a small result. The retry
policy is the JobService's defaults (3 retries, 1 minute apart, 5 minute timeout), and only
errors known to be transient are retried.
"""

from smtplib import SMTPException

from jobs import fixed, job_task

from . import QUEUE
from .payloads import GenerateReport, ReportResult

TRANSIENT_EMAIL_ERRORS = (SMTPException, ConnectionError, TimeoutError)


@job_task(
    name="examples.job_service.send_email",
    queue=QUEUE,
    max_attempts=4,
    backoff=fixed(60),
    autoretry_for=TRANSIENT_EMAIL_ERRORS,
    time_limit=300,
)
def send_email(
    template: str,
    recipient: str,
    user_id: str | None = None,
    subject: str | None = None,
    data: dict | None = None,
) -> dict:
    from .services import email_send

    return email_send(
        template=template, recipient=recipient, user_id=user_id, subject=subject, data=data
    )


@job_task(
    name="examples.job_service.generate_report",
    queue=QUEUE,
    bind=True,
    pydantic=True,
    max_attempts=4,
    backoff=fixed(60),
    time_limit=300,
)
def generate_report(self, request: GenerateReport) -> ReportResult:
    from .services import report_generate

    return report_generate(request=request, job_id=self.request.id)
