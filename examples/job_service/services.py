"""The EmailService and the report request: they schedule jobs (the source's
``jobService.schedule`` / ``scheduleMany``), and the work the handlers do."""

from typing import Any

from django.core.mail import send_mail

from jobs import JobSpec, enqueue_many

from .models import Report
from .payloads import GenerateReport, ReportResult, SendEmail
from .tasks import generate_report, send_email

SUBJECTS = {"welcome": "Welcome aboard", "promotion": "This week's offers"}


def welcome_email_schedule(*, user_id: str, email: str) -> str:
    """``schedule({type: "SEND_EMAIL", options: {priority: "normal", delay: 60000,
    retries: 3}})``: the job id, sent a minute from now."""
    payload = SendEmail(template="welcome", recipient=email, user_id=user_id)
    result = send_email.apply_async(
        kwargs=payload.model_dump(exclude_defaults=True),
        priority="NORMAL",
        countdown=60,
        max_attempts=4,  # the first try and 3 retries
    )
    return result.id


def promotion_emails_schedule(*, emails: list[str]) -> list[str]:
    """``scheduleMany(jobs)``: one job per recipient, written in one statement."""
    specs = [
        JobSpec(
            task=send_email.name,
            kwargs=SendEmail(template="promotion", recipient=email).model_dump(
                exclude_defaults=True
            ),
        )
        for email in emails
    ]
    return [str(job.id) for job in enqueue_many(specs)]


def report_schedule(*, report_type: str, user_id: str, parameters: dict[str, Any]) -> str:
    """``schedule({type: "GENERATE_REPORT", data})``: the data is validated here, at enqueue
    (a bad report type raises pydantic's ValidationError), and again when the job runs."""
    request = GenerateReport(report_type=report_type, user_id=user_id, parameters=parameters)
    return generate_report.apply_async(args=(request,)).id


def email_send(
    *,
    template: str,
    recipient: str,
    user_id: str | None = None,
    subject: str | None = None,
    data: dict | None = None,
) -> dict:
    """The SEND_EMAIL handler's work. An SMTP error propagates, so the job is retried."""
    payload = SendEmail(
        template=template, recipient=recipient, user_id=user_id, subject=subject, data=data or {}
    )
    lines = [f"Hello {payload.recipient},", f"template: {payload.template}"]
    lines += [f"{key}: {value}" for key, value in sorted(payload.data.items())]
    send_mail(
        subject=payload.subject or SUBJECTS[payload.template],
        message="\n".join(lines),
        from_email=None,
        recipient_list=[payload.recipient],
    )
    return {"sent": True, "to": payload.recipient}


def report_generate(*, request: GenerateReport, job_id: str) -> ReportResult:
    """The GENERATE_REPORT handler's work; safe to run twice for one job."""
    report, _ = Report.objects.get_or_create(
        job_id=job_id,
        defaults={
            "report_type": request.report_type,
            "user_id": request.user_id,
            "parameters": request.parameters,
            "rows": len(request.parameters),
        },
    )
    return ReportResult(report_id=report.pk, rows=report.rows)
