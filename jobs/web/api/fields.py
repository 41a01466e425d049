"""Fields of the job API that name a queue or a task, documented as what they accept.

A plain ``CharField`` documented "any string", then the view refused an unknown queue or
task with a 400: the schema promised more than validation kept. These fields validate
against the platform's own lists and document them as an enum, read when the schema is
generated (``JOBS_QUEUES``; the registered ``@job_task`` names).
"""

from collections.abc import Collection
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from jobs.ledger.queues import known_queues
from jobs.runtime.registry import ledger_task_names


def job_task_names() -> list[str]:
    """Tasks a client may enqueue by name: every ledger task but Celery's own."""
    return [name for name in ledger_task_names() if not name.startswith("celery.")]


class _ExactNameField(serializers.CharField):
    """A name from a known set, taken exactly (a string, not trimmed)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def known(self) -> Collection[str]:
        raise NotImplementedError

    def unknown_message(self, value: str) -> str:
        raise NotImplementedError

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if value not in self.known():
            raise serializers.ValidationError(self.unknown_message(value))
        return value


class QueueNameField(_ExactNameField):
    """The name of a queue the platform knows (``JOBS_QUEUES``)."""

    def known(self) -> Collection[str]:
        return known_queues()

    def unknown_message(self, value: str) -> str:
        return f"unknown queue {value!r}"


class TaskNameField(_ExactNameField):
    """The name of a registered ``@job_task``."""

    def known(self) -> Collection[str]:
        return job_task_names()

    def unknown_message(self, value: str) -> str:
        return f"unknown task {value!r}: not a registered job task"


class _QueueNameSchema(OpenApiSerializerFieldExtension):
    target_class = QueueNameField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": sorted(known_queues())}


class _TaskNameSchema(OpenApiSerializerFieldExtension):
    target_class = TaskNameField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": job_task_names()}
