"""Serializer fields that accept exactly what the OpenAPI schema says they accept.

DRF's ``UUIDField`` reads an integer as a UUID (``false`` became the zero UUID, ``5`` the
UUID ...0005) and also accepts hex without dashes, braces or a ``urn:uuid:`` prefix, none
of which the schema's ``format: uuid`` string admits. ``StrictUUIDField`` takes the
canonical string only. Products use it through ``jobs.StrictUUIDField``.

No model imports here: product serializers import this module at any time.
"""

import re
import uuid
from typing import Any

from rest_framework import serializers

_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class StrictUUIDField(serializers.UUIDField):
    """A UUID as a string in its canonical 8-4-4-4-12 form, and nothing else."""

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str) or not _CANONICAL_UUID.fullmatch(data):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)
