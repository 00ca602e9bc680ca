"""Bearer-token authentication: the only way into the API.

Only `Authorization: Bearer <access token>` authenticates (no session auth), so an
admin session cookie cannot call the API. The hot path is a JWT decode, one query by
primary key (which also reads the user's token cut-off) and one cache GET (is the
token's session logged out?, see users/tokens.py). Every failure is a 401 with
`WWW-Authenticate: Bearer`.
"""

from functools import cache
from typing import Any

from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from core.fields import id_from_text
from users.models import User
from users.tokens import SessionAccessToken, issued_before, session_of, session_revoked

CREDENTIALS_ERROR = "Could not validate credentials"
WWW_AUTHENTICATE = "Bearer"
# Our tokens are a few hundred bytes; anything much longer is refused undecoded.
MAX_TOKEN_BYTES = 4096
# What parsing a hostile token may raise besides TokenError (claims of odd types or
# sizes in a token signed with our key: huge `exp`, a non-UTF-8 segment).
TOKEN_PARSE_ERRORS = (
    TokenError,
    ValueError,
    TypeError,
    KeyError,
    OverflowError,
    OSError,
)


def token_user_id(token: Token) -> int | None:
    """Return the user id a token names (simplejwt writes a string), if sane."""
    return id_from_text(token.get(api_settings.USER_ID_CLAIM))


@cache
def _active_user_sql(alias: str) -> str:
    """Return the SQL of "the active user with this id", compiled once per process.

    Building and compiling the queryset cost two thirds of an authenticated request's
    ORM work (about 1,000 Python calls, for the same SQL every time); the SQL comes
    from the ORM, so it follows the model and the database vendor.
    """
    query = User.objects.filter(pk=0, is_active=True).order_by()[:1].query
    sql, params = query.get_compiler(alias).as_sql()
    if list(params) != [0]:  # the id must be the query's only parameter
        raise RuntimeError(f"unexpected parameters in the user query: {params!r}")
    return sql


def active_user(user_id: int) -> User | None:
    """Return the active user with this id, or None, in one query."""
    sql = _active_user_sql(User.objects.db)
    # raw() still applies the fields' converters and builds a normal instance.
    return next(iter(User.objects.raw(sql, [user_id])), None)


class BearerAuthentication(JWTAuthentication):
    """Authenticate `Authorization: Bearer <access token>`; failures are 401."""

    def authenticate_header(self, request: Request) -> str:
        """Name the scheme in WWW-Authenticate (which makes failures 401, not 403)."""
        return WWW_AUTHENTICATE

    def get_header(self, request: Request) -> bytes | None:  # type: ignore[override]
        """Return the Authorization header as bytes, as WSGI delivered it."""
        header = request.META.get(api_settings.AUTH_HEADER_NAME)
        if isinstance(header, str):
            try:
                return header.encode(HTTP_HEADER_ENCODING)
            except UnicodeEncodeError:  # only a test client can send this
                raise exceptions.AuthenticationFailed(CREDENTIALS_ERROR) from None
        return header

    def get_raw_token(self, header: bytes) -> bytes | None:
        """Return the token of a Bearer header; refuse a malformed one.

        The scheme is case-insensitive (RFC 7235). Another scheme (Basic, Token)
        counts as no credentials at all: a 401 that asks for a bearer token.
        """
        parts = header.split()
        if not parts or parts[0].lower() != WWW_AUTHENTICATE.lower().encode():
            return None
        if len(parts) != 2 or len(parts[1]) > MAX_TOKEN_BYTES:
            raise exceptions.AuthenticationFailed(CREDENTIALS_ERROR)
        return parts[1]

    def get_validated_token(self, raw_token: bytes) -> Token:
        """Accept only a valid, unexpired access token (never a refresh token).

        PyJWT checks the signature with the one configured algorithm only, so
        `alg: none`, another HMAC and a wrong key all fail here.
        """
        try:
            return SessionAccessToken(raw_token)  # type: ignore[arg-type]
        except TOKEN_PARSE_ERRORS:
            raise exceptions.AuthenticationFailed(CREDENTIALS_ERROR) from None

    def get_user(self, validated_token: Token) -> Any:
        """Load the token's user in one query; refuse a token that has ended.

        Refused: a deleted or inactive user, a token issued before the user's
        `tokens_valid_after` (password change or reset, deactivation) and one whose
        session was logged out. simplejwt's own version raises a 500 on a malformed
        `sub` and answers different texts for each case; here every refusal is the
        same 401.
        """
        user_id = token_user_id(validated_token)
        user = None if user_id is None else active_user(user_id)
        if (
            user is None
            or issued_before(validated_token, user.tokens_valid_after)
            or (
                api_settings.CHECK_REVOKE_TOKEN  # off by default; honoured when set
                and validated_token.get(api_settings.REVOKE_TOKEN_CLAIM)
                != get_md5_hash_password(user.password)
            )
            or session_revoked(session_of(validated_token))
        ):
            raise exceptions.AuthenticationFailed(CREDENTIALS_ERROR)
        return user
