"""Who is calling: the user behind a JWT, by one rule for every way a token comes in.

The REST API (DRF's ``JWTAuthentication``), the refresh endpoint, the WebSocket handshake
and ``/metrics`` all accept a token only for a user who still exists, is active and has not
changed their password since the token was issued. The last part is SIMPLE_JWT's
``CHECK_REVOKE_TOKEN``: every token carries a digest of the user's password hash
(``hash_password``), compared on each use, so ``set_password`` revokes every access and
refresh token issued before it.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import Token


def user_for_token(token: Token) -> AbstractBaseUser | TokenUser:
    """The user a signature-checked token (access or refresh) names.

    Raises ``AuthenticationFailed`` (401) when that user is gone, inactive, or has changed
    their password since the token was issued: the check DRF runs on every API request.
    """
    return JWTAuthentication().get_user(token)


def user_from_jwt(raw_token: str) -> AbstractBaseUser | TokenUser | None:
    """The user of an access token, or None for any token that does not authenticate:
    malformed, expired, blacklisted, of a deleted or inactive user, or older than the
    user's password."""
    auth = JWTAuthentication()
    try:
        return user_for_token(auth.get_validated_token(raw_token.strip().encode()))
    except (AuthenticationFailed, TokenError):  # InvalidToken is an AuthenticationFailed
        return None


def username_max_length() -> int:
    """The longest username an account can have. Login paths refuse longer ones up front:
    the lockout records every failed username, in a column no wider than that."""
    user_model = get_user_model()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    return getattr(field, "max_length", None) or 150
