"""JSON request bodies read with the types the OpenAPI schema gives their fields.

DRF's fields convert what they are given: ``CharField`` takes ``0`` as ``"0"``,
``IntegerField`` takes ``"5"`` as 5, ``BooleanField`` takes ``"true"``, ``"on"`` or 1 as
True. A form can only send text, so this is right for forms, but in a JSON body the schema
says ``"phone": {"type": "string"}`` and ``{"phone": 0}`` is invalid input that was accepted.
``BodySerializer`` refuses a JSON value of the wrong type with a 400 naming the field, before
DRF converts it; form bodies (a ``QueryDict``) are read as before. Every serializer that
validates a request body derives from it (the products' too, through ``jobs.BodySerializer``),
and so do nested ones (``many=True`` children are instances of the same class).

A rule across fields (give ``delay`` or ``run_at``, not both; a phone number for SMS) is
documented too: ``schema_rules`` holds its JSON Schema keywords (``not``, ``anyOf``), added
to the serializer's request schema.
"""

import copy
import inspect
from typing import Any, ClassVar

from django.http import QueryDict
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

# The JSON types a field's schema allows (null aside, which ``allow_null`` governs), most
# specific class first. Fields not listed (lists, dicts, JSON, nested serializers, custom
# fields) check their own types.
_JSON_TYPES: list[tuple[type[serializers.Field], tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), "Must be true or false."),
    (serializers.IntegerField, (int, float), "Must be an integer."),
    (serializers.FloatField, (int, float), "Must be a number."),
    (serializers.DecimalField, (int, float, str), "Must be a number."),
    (serializers.ChoiceField, (str,), "Must be a string."),
    (serializers.CharField, (str,), "Must be a string."),
    (serializers.UUIDField, (str,), "Must be a string."),
    (serializers.DateTimeField, (str,), "Must be a date-time string."),
    (serializers.DateField, (str,), "Must be a date string."),
]


def json_type_error(field: serializers.Field, value: Any) -> str | None:
    """Why ``value`` is not of the JSON type ``field`` documents, or None."""
    if value is None:
        return None
    for field_class, types, message in _JSON_TYPES:
        if isinstance(field, field_class):
            if isinstance(value, bool) and bool not in types:
                return message
            if isinstance(value, float) and isinstance(field, serializers.IntegerField):
                return None if value.is_integer() else message  # 2.0 is JSON's integer 2
            return None if isinstance(value, types) else message
    return None


class BodySerializer(serializers.Serializer):
    """A serializer for a request body: in JSON, each value has its field's JSON type."""

    # JSON Schema keywords stating the serializer's rules across fields (its ``validate``).
    schema_rules: ClassVar[dict[str, Any]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and not isinstance(data, QueryDict):
            errors = {
                name: [message]
                for name, field in self.fields.items()
                if not field.read_only
                and name in data
                and (message := json_type_error(field, data[name])) is not None
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class _BodySerializerSchema(OpenApiSerializerExtension):
    target_class = BodySerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if schema.get("description") == inspect.cleandoc(BodySerializer.__doc__ or ""):
            # drf-spectacular falls back on a base class's docstring: not this one's.
            del schema["description"]
        if direction == "request":
            self._document_list_lengths(schema)
        if direction == "request" and self.target.schema_rules:
            rules = copy.deepcopy(self.target.schema_rules)
            said = [schema.get("description"), rules.pop("description", None)]
            schema.update(rules)
            schema["description"] = "\n\n".join(text for text in said if text)
        return schema

    def _document_list_lengths(self, schema: dict[str, Any]) -> None:
        """drf-spectacular leaves out a nested ``many=True`` serializer's length limits
        (``allow_empty``, ``min_length``, ``max_length``); ListField's it documents."""
        properties = schema.get("properties", {})
        for name, field in self.target.fields.items():
            if not isinstance(field, serializers.ListSerializer) or name not in properties:
                continue
            # (min_length and max_length are DRF 3.14's; the type stubs predate them)
            min_length = getattr(field, "min_length", None) or 0
            max_length = getattr(field, "max_length", None)
            minimum = max(min_length, 0 if field.allow_empty else 1)
            if minimum:
                properties[name]["minItems"] = minimum
            if max_length is not None:
                properties[name]["maxItems"] = max_length
