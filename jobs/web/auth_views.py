"""The token endpoints: login, refresh and logout, on simplejwt.

- ``POST /api/auth/token/`` (login): username and password give an access and a refresh
  token. Throttled per client address (scope ``login``) and guarded by the lockout of
  ``jobs.web.lockout``: a locked-out username+address answers 429 ``locked_out``, even with
  the right password.
- ``POST /api/auth/token/refresh/``: a refresh token gives a new access token and a new
  refresh token (the used one is blacklisted), only while its user exists, is active and
  has kept the password the token was issued under (``jobs.web.auth.user_for_token``).
- ``POST /api/auth/logout/``: blacklists the given refresh token, so it can no longer be
  refreshed. The refresh token is the credential: whoever holds it could mint an access
  token anyway, so no other authentication is asked for. Access tokens live on until they
  expire (JWT_ACCESS_MINUTES); changing the password ends them too.

simplejwt's views, with this module's serializers and throttle, documented here with every
answer they give (``ErrorResponsesAutoSchema`` adds 415 and the throttles' 429).
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.serializers import (
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
)

from jobs.web.api.schema import VALIDATION_ERROR, ErrorResponsesAutoSchema, error
from jobs.web.auth import user_for_token, username_max_length
from jobs.web.client_address import client_address
from jobs.web.lockout import lockout_seconds

# The production default; test settings replace the whole rates table without this scope.
LOGIN_RATE = "10/minute"


class LoginThrottle(SimpleRateThrottle):
    """Login attempts per client address, whatever the username: caps password spraying
    across many accounts, which the per-username lockout does not see. The rate is read at
    request time (``override_settings`` works), from the ``login`` scope."""

    scope = "login"

    def get_rate(self) -> str:
        return str(api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or LOGIN_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class LockedOut(APIException):
    status_code = 429
    default_code = "locked_out"

    def __init__(self, *, wait: int) -> None:
        self.wait = wait  # DRF's exception handler turns it into Retry-After
        super().__init__(
            {
                "detail": "Too many failed logins: this account is locked out from your "
                f"address for {wait} seconds.",
                "code": self.default_code,
            }
        )


class LoginSerializer(TokenObtainPairSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A longer username than any account's would not fit the lockout's records.
        self.fields[self.username_field] = serializers.CharField(
            write_only=True, max_length=username_max_length()
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            return super().validate(attrs)
        except AuthenticationFailed:
            # authenticate() refuses a locked-out client like a wrong password; axes flags
            # the request (the DRF request simplejwt passed it) to tell the two apart.
            request = self.context.get("request")
            if getattr(request, "axes_locked_out", False):
                raise LockedOut(wait=lockout_seconds(request)) from None
            raise


class RefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        # simplejwt's own check looks the user up with .get() (a 500 once the user is
        # deleted) and ignores the password claim; the rule of every API request comes
        # first. An invalid token raises TokenError, which the view answers with 401.
        user_for_token(self.token_class(attrs["refresh"]))
        return super().validate(attrs)


class TokenPair(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


INVALID_REFRESH = error(
    "Refresh token invalid, expired or already used (blacklisted), or its user is gone, "
    "inactive or has changed their password since."
)


class LoginView(TokenObtainPairView):
    serializer_class = LoginSerializer
    throttle_classes = [LoginThrottle]
    schema = ErrorResponsesAutoSchema()

    @extend_schema(
        responses={
            200: TokenPair,
            400: VALIDATION_ERROR,
            401: error("No active account with these credentials."),
            429: error(
                "Too many logins from this address (code throttled), or too many failures of "
                "this username from it (code locked_out); retry after Retry-After seconds."
            ),
        }
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class RefreshView(TokenRefreshView):
    serializer_class = RefreshSerializer
    schema = ErrorResponsesAutoSchema()

    @extend_schema(responses={200: TokenPair, 400: VALIDATION_ERROR, 401: INVALID_REFRESH})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class LogoutView(TokenBlacklistView):
    serializer_class = TokenBlacklistSerializer
    schema = ErrorResponsesAutoSchema()

    @extend_schema(
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="Logged out: {}."),
            400: VALIDATION_ERROR,
            401: error("Refresh token invalid, expired, or already blacklisted."),
        }
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)
