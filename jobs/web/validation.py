"""Validating request input with a serializer: the one helper every view uses."""

from typing import Any

from rest_framework.serializers import BaseSerializer


def validated(
    serializer_class: type[BaseSerializer], data: Any, *, context: dict[str, Any] | None = None
) -> Any:
    """The serializer's validated data; invalid input raises DRF's 400 naming each field."""
    serializer = serializer_class(data=data, context=context or {})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
