"""Bearer-token authentication: the only way into the API."""

from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, Token

from users.models import User

CREDENTIALS_ERROR = "Could not validate credentials"


def token_user_id(token: Token) -> int | None:
    """Return the user id a token names (simplejwt writes a string), if sane."""
    value = token.get("user_id")
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) < 19
    ):
        return int(value)
    return None


class BearerAuthentication(JWTAuthentication):
    """Authenticate `Authorization: Bearer <access token>`; failures are 401."""

    def authenticate_header(self, request: Request) -> str:
        """Name the scheme in WWW-Authenticate (which makes failures 401, not 403)."""
        return "Bearer"

    def get_raw_token(self, header: bytes) -> bytes | None:
        """Return the token of a Bearer header; refuse a malformed one."""
        parts = header.split()
        if not parts or parts[0].lower() != b"bearer":
            return None  # another scheme: unauthenticated, as if absent
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(CREDENTIALS_ERROR)
        return parts[1]

    def get_validated_token(self, raw_token: bytes) -> Token:
        """Accept only a valid, unexpired access token (not a refresh token)."""
        try:
            return AccessToken(raw_token)
        except (TokenError, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed(CREDENTIALS_ERROR) from None

    def get_user(self, validated_token: Token) -> Any:
        """Load the token's user, refusing a deleted or deactivated one (one query)."""
        user_id = token_user_id(validated_token)
        user = (
            None
            if user_id is None
            else User.objects.filter(pk=user_id, is_active=True).first()
        )
        if user is None:
            raise exceptions.AuthenticationFailed(CREDENTIALS_ERROR)
        return user
