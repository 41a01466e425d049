"""OpenAPI: the error answers every API view can give, documented next to its success.

drf-spectacular documents what a view declares (mostly its 2xx answer). DRF itself adds
answers every view can give: 400 for a body or query it cannot accept (415 for a body in a
media type it does not read), 401 without credentials, 403 when the user may not do this,
404 for an id that is not there (or not visible to this user), 429 when throttled.
``ErrorResponsesAutoSchema`` adds those to each operation where they can happen, unless the
view documents that status itself, so clients (and the schema fuzzer in
tests/test_security.py) see the API as it really answers.

Views opt in with ``schema = ErrorResponsesAutoSchema()`` on their base class.

Request bodies are documented as JSON only. DRF's form parsers still read form and
multipart bodies (older clients and tests post forms), but a form cannot say what the JSON
schema says (``null``, nested objects, lists of objects, booleans): documenting them would
promise what the views do not do. The schema contract (tests/test_schema_contract.py)
holds the documented API to exactly what validation accepts.
"""

import re

from django.urls.converters import get_converters
from django.utils.module_loading import import_string
from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


def error(description: str) -> OpenApiResponse:
    """An error answered as ``{"detail": "...", ...}``."""
    return OpenApiResponse(ErrorDetailSerializer, description=description)


# DRF's validation errors name each bad field ({"field": ["message"]}), or say `detail`.
VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: each bad field with its messages."
)
UNAUTHENTICATED = error("No valid credentials (a JWT access token, or a session).")
FORBIDDEN = error("Signed in, but not allowed to do this (or a session without CSRF token).")
NOT_FOUND = error("No such object, or not visible to this user.")
UNSUPPORTED_MEDIA_TYPE = error("A body in a media type this operation does not read.")
THROTTLED = error("Too many requests; retry after the Retry-After header's seconds.")
CONFLICT = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Not possible in the object's current state; says why."
)


class ErrorResponsesAutoSchema(AutoSchema):
    # Writes may answer 409 (the object's state does not allow the change), as the domain
    # apps' services refuse. A class attribute: @extend_schema re-instantiates the class.
    conflicts = False

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self.describe_path_syntax(operation)
        responses = operation.setdefault("responses", {})
        for code, response in self.implied_errors(operation).items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(response, str(code))
        return operation

    def map_parsers(self) -> list[str]:
        parsers = self.view.get_parsers()
        return list(dict.fromkeys(p.media_type for p in parsers if isinstance(p, JSONParser)))

    def implied_errors(self, operation: dict) -> dict[int, OpenApiResponse]:
        parameters = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
        implied: dict[int, OpenApiResponse] = {}
        if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
            implied[400] = VALIDATION_ERROR
        if "requestBody" in operation:
            implied[415] = UNSUPPORTED_MEDIA_TYPE
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            implied[401] = UNAUTHENTICATED
            implied[403] = FORBIDDEN
        if any(p.get("in") == "path" for p in parameters) or any(
            p.get("in") == "query" and p.get("name") == "page" for p in parameters
        ):
            implied[404] = NOT_FOUND  # also a page number past the end
        if self.conflicts and self.method in ("POST", "PUT", "PATCH", "DELETE"):
            implied[409] = CONFLICT
        if self.view.get_throttles():
            implied[429] = THROTTLED
        return implied

    def describe_path_syntax(self, operation: dict) -> None:
        """Say what the URL route accepts: a value its converter refuses (a slug with a space,
        a queue name with a slash, a negative id) matches no route and never reaches the
        view. drf-spectacular documents ``slug`` and ``str`` converters as any string."""
        for parameter in operation.get("parameters", []):
            if not isinstance(parameter, dict) or parameter.get("in") != "path":
                continue
            schema = parameter.get("schema", {})
            regex = self._route_regex(parameter["name"])
            if schema.get("type") == "integer":
                schema.setdefault("minimum", 0)
            elif schema.get("type") == "string" and "format" not in schema and regex:
                schema.setdefault("pattern", f"^{regex}$")

    def _route_regex(self, name: str) -> str | None:
        """The regex a route matches the parameter with: ``<slug:name>`` or ``(?P<name>…)``."""
        converter = re.search(rf"<(\w+):{re.escape(name)}>", self.path_regex)
        if converter:
            found = get_converters().get(converter.group(1))
            return found.regex if found else None
        group = re.search(rf"\(\?P<{re.escape(name)}>(.+?)\)", self.path_regex)
        return group.group(1) if group else None


class ConflictAwareAutoSchema(ErrorResponsesAutoSchema):
    conflicts = True


class _TokenObtainPairViewSchema(OpenApiViewExtension):
    """simplejwt's login answers 401 for wrong credentials and 400 for a malformed body."""

    target_class = "rest_framework_simplejwt.views.TokenObtainPairView"

    def view_replacement(self):
        return _with_auth_errors(self.target, "No active account with these credentials.")


class _TokenRefreshViewSchema(OpenApiViewExtension):
    """simplejwt's refresh answers 401 for an invalid, expired or already used token."""

    target_class = "rest_framework_simplejwt.views.TokenRefreshView"

    def view_replacement(self):
        return _with_auth_errors(
            self.target, "Refresh token invalid, expired, or already used (blacklisted)."
        )


def _with_auth_errors(view_class, unauthorized: str):
    class Documented(view_class):
        schema = ErrorResponsesAutoSchema()

        @extend_schema(
            responses={
                200: import_string(view_class._serializer_class),
                400: VALIDATION_ERROR,
                401: error(unauthorized),
            }
        )
        def post(self, request, *args, **kwargs):
            return super().post(request, *args, **kwargs)

    Documented.__name__ = view_class.__name__
    Documented.__qualname__ = view_class.__qualname__
    return Documented
