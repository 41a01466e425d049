"""Query strings read exactly as the OpenAPI schema describes them.

DRF reads ``request.query_params`` like an HTML form: an optional parameter given blank
(``?status=``, ``?limit=``) counts as left out, and of a repeated one
(``?offset=1&offset=abc``) only the last value counts. Both were accepted although the
schema says neither is valid (a blank is no member of an enum and no integer; a scalar
parameter is one value). ``QuerySerializer`` refuses them with a 400 naming the parameter;
every serializer that validates a query string derives from it (the products' filters too,
through ``jobs.QuerySerializer``).
"""

from typing import Any

from django.http import QueryDict
from rest_framework import serializers


class QuerySerializer(serializers.Serializer):
    """A serializer for ``request.query_params``: each parameter at most once, and blank
    only where its field allows blank (``allow_blank=True``, documented as an enum member
    ``""`` or a string without ``minLength``)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict):
            errors: dict[str, list[str]] = {}
            for name, field in self.fields.items():
                if field.read_only:
                    continue
                values = data.getlist(name)
                if len(values) > 1 and not isinstance(field, serializers.ListField):
                    errors[name] = ["give this parameter once"]
                elif values and values[0] == "" and not getattr(field, "allow_blank", False):
                    errors[name] = ["may not be blank: leave the parameter out instead"]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
