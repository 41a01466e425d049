"""JWT access tokens and API clients that send them, for the REST API tests."""

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken


def access_token(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


def jwt_client(user=None) -> APIClient:
    """An API client sending ``user``'s access token as a Bearer header (none for ``None``)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    return client
