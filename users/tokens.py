"""The service's JWTs: registered claims, a session id, and sessions that end.

Every token carries `sub` (the user id, as text), `iat`, `exp`, `jti`, `token_type`
and `sid`: the id of the login it descends from, kept across refreshes. Two things end
access tokens before they expire, without a database query of their own:

- the user's `tokens_valid_after` (read with the user's row, which authentication
  loads anyway): a token issued before it is refused. `iat` is written to the
  microsecond (RFC 7519 allows a fractional NumericDate), so that a token issued in
  the same second as a password change, just before or just after it, is decided
  right;
- a revoked session id in the shared cache (logout, reuse of a rotated refresh
  token), kept for an access token's lifetime: one cache GET per request.
"""

import logging
import uuid
from datetime import datetime
from typing import Any

from django.core.cache import cache
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from core.breaker import CircuitOpen, cache_breaker
from core.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)

SESSION_CLAIM = "sid"
# Seconds a revoked session id outlives the access tokens it ends, for clock skew.
REVOCATION_GRACE_SECONDS = 60


class _MicrosecondIat:
    """Write `iat` as seconds with microseconds, not whole seconds (a Token mixin)."""

    payload: dict[str, Any]
    current_time: datetime

    def set_iat(self, claim: str = "iat", at_time: datetime | None = None) -> None:
        """Set the issue time to the microsecond (see the module docstring)."""
        self.payload[claim] = (at_time or self.current_time).timestamp()


class SessionAccessToken(_MicrosecondIat, AccessToken):
    """An access token; its `sid` is copied from the refresh token that made it."""


# simplejwt's own RefreshToken trips mypy's check of its two bases' `for_user`.
class SessionRefreshToken(_MicrosecondIat, RefreshToken):  # type: ignore[misc]
    """A refresh token of one session (`sid`), recorded as outstanding when issued."""

    access_token_class = SessionAccessToken

    @classmethod
    def for_session(cls, *, user: Any, sid: str) -> "SessionRefreshToken":
        """Issue and record a refresh token of the user's session `sid`.

        simplejwt's `for_user` records the token before a `sid` could be added; the
        record must hold it, so that a session's tokens can be found and revoked.
        """
        token = cls()
        token[api_settings.USER_ID_CLAIM] = str(user.pk)
        token[SESSION_CLAIM] = sid
        OutstandingToken.objects.create(
            user=user,
            jti=token[api_settings.JTI_CLAIM],
            token=str(token),
            created_at=token.current_time,
            expires_at=datetime_from_epoch(token["exp"]),
        )
        return token


def new_session_id() -> str:
    """Return a fresh session id for a login."""
    return uuid.uuid4().hex


def session_of(token: Token | dict[str, Any]) -> str | None:
    """Return a token's session id; None for a token issued before sessions."""
    sid = token.get(SESSION_CLAIM)
    return sid if isinstance(sid, str) and sid else None


def issued_before(token: Token, cutoff: datetime | None) -> bool:
    """Say whether a token was issued before a user's cut-off (so it is void).

    A token without a numeric `iat` can't prove it is newer: it counts as older.
    """
    iat = token.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        return True
    return cutoff is not None and iat < cutoff.timestamp()


def _revocation_key(sid: str) -> str:
    return f"revoked-session:{sid}"


def _log_outage(action: str, exc: BaseException) -> None:
    """Log that session revocations can't be read or written.

    Only a call that reached the cache logs: while the breaker is open (CircuitOpen)
    nothing does, so an outage logs a few lines per process and breaker period, not
    one per request; the breaker logs its own opening and closing.
    """
    if isinstance(exc, CircuitOpen):
        return
    logger.error("session revocations unreachable (%s): %s", type(exc).__name__, action)


def session_revoke(sid: str) -> bool:
    """Mark a session's access tokens revoked; False when the cache is down."""
    lifetime = int(api_settings.ACCESS_TOKEN_LIFETIME.total_seconds())
    try:
        cache_breaker.call(
            lambda: cache.set(
                _revocation_key(sid), 1, timeout=lifetime + REVOCATION_GRACE_SECONDS
            ),
            CACHE_ERRORS,
        )
    except CACHE_ERRORS as exc:
        _log_outage("a session's access tokens stay valid until they expire", exc)
        return False
    return True


def session_revoked(sid: str | None) -> bool:
    """Say whether a session was revoked; fail open when the cache is down.

    Failing open keeps the API serving through a Redis outage (the contract's
    promise); what still holds then: revoked refresh tokens, the user's cut-off,
    and the access token's own expiry.
    """
    if sid is None:
        return False
    try:
        return bool(
            cache_breaker.call(lambda: cache.get(_revocation_key(sid)), CACHE_ERRORS)
        )
    except CACHE_ERRORS as exc:
        _log_outage("not checking access tokens against logouts", exc)
        return False
