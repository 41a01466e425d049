"""Who is calling: the user behind a JWT access token, for the edges DRF does not cover
(the WebSocket handshake, the Prometheus endpoint)."""

from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError


def user_from_jwt(raw_token: str) -> AbstractBaseUser | None:
    """The token's user, or None for a token that is invalid, expired or names no user."""
    auth = JWTAuthentication()
    try:
        return auth.get_user(auth.get_validated_token(raw_token.strip().encode()))
    except (InvalidToken, TokenError):
        return None
