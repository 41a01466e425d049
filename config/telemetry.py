"""Optional error reporting (Sentry) and tracing (OpenTelemetry), off unless configured.

- ``SENTRY_DSN``: sentry-sdk with its Django and Celery integrations; an event raised in a
  job carries the tags ``job_id`` and ``attempt``. ``SENTRY_ENVIRONMENT``,
  ``SENTRY_TRACES_SAMPLE_RATE`` (default 0: errors only).
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP over HTTP; the exporter reads the standard
  ``OTEL_*`` variables) or ``OTEL_TRACES=console``: the Celery instrumentation, and a
  "publish <task>" span per message the ledger sends whose context travels in the
  message, so a job's enqueue and its run (``run/<task>``) are one trace.

Each is initialised once per process, from the settings; with neither set nothing is
imported and nothing runs per job.
"""

import logging
import os
from typing import Any

log = logging.getLogger(__name__)
_started: set[str] = set()


def _job_tags(event: dict, hint: dict) -> dict:
    """Sentry's before_send: the job id and attempt of the task this event happened in."""
    from celery import current_task

    task = current_task
    request = getattr(task, "request", None) if task else None
    job_id = getattr(request, "id", None)
    if job_id:
        tags = event.setdefault("tags", {})
        tags["job_id"] = str(job_id)
        claim = getattr(request, "ledger_claim", None)
        if claim is not None:
            tags["attempt"] = str(claim.attempts)
    return event


def init_sentry(dsn: str, *, environment: str | None, traces_sample_rate: float) -> bool:
    if not dsn or "sentry" in _started:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        before_send=_job_tags,  # type: ignore[arg-type]
    )
    _started.add("sentry")
    return True


def _publish_span(job: Any, headers: dict) -> None:
    """A producer span per ledger message, its context injected into the message headers
    (the Celery instrumentation reads it back in the worker)."""
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind

    tracer = trace.get_tracer("jobs.ledger")
    with tracer.start_as_current_span(
        f"publish {job.task}",
        kind=SpanKind.PRODUCER,
        attributes={"job.id": str(job.id), "job.queue": job.queue, "job.task": job.task},
    ):
        propagate.inject(headers)


def _one_line(span: Any) -> str:
    return span.to_json(indent=None) + os.linesep


def init_tracing(*, otlp: bool, console: bool) -> bool:
    if not (otlp or console) or "tracing" in _started:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    from jobs.ledger.broker import register_header_hook

    service = os.environ.get("OTEL_SERVICE_NAME", "durable-jobs")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if otlp:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The batch processor's thread is started again after a fork (prefork pools).
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if console:
        # One JSON line per span on stdout, beside the process's log lines.
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=_one_line)))
    trace.set_tracer_provider(provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    register_header_hook(_publish_span)
    _started.add("tracing")
    return True


def init_tracing_from_settings() -> bool:
    """Called once Django is set up (the ASGI app, each worker process, beat)."""
    from django.conf import settings

    return init_tracing(
        otlp=bool(settings.OTEL_EXPORTER_OTLP_ENDPOINT) or settings.OTEL_TRACES == "otlp",
        console=settings.OTEL_TRACES == "console",
    )
