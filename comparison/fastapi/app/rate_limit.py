"""Rate limits with slowapi, counted in Redis so that they hold across workers."""

import time

import jwt
import redis.exceptions
from fastapi.responses import JSONResponse
from limits import parse
from limits.errors import StorageError
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address
from slowapi.wrappers import Limit
from starlette.requests import Request

from app.config import get_settings
from app.core.exceptions import ServiceUnavailable
from app.core.security import decode_token

settings = get_settings()


def client_key(request: Request) -> str:
    """Count a caller with a valid access token by user, anyone else by address."""
    # slowapi reads request.state.view_rate_limit after the endpoint, but sets it
    # only when Redis answered: with Redis down and errors swallowed, it would raise.
    request.state.view_rate_limit = None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            return f"user:{decode_token(token, 'access')['sub']}"
        except jwt.InvalidTokenError:
            pass
    return f"ip:{get_remote_address(request)}"


def api_rate(key: str) -> str:
    """The general limit for this caller: per user when logged in, else per address."""
    if key.startswith("user:"):
        return settings.rate_limit_user
    return settings.rate_limit_anon


limiter = Limiter(
    key_func=client_key,
    storage_uri=settings.redis_url,
    storage_options={"socket_connect_timeout": 1, "socket_timeout": 1},
    enabled=settings.rate_limits_enabled,
    # Redis down: the general limits let requests through (and log it); login does not.
    swallow_errors=True,
)

# One counter per caller over the whole API, not one per path (slowapi's default).
api_limit = limiter.shared_limit(api_rate, scope="api")

LOGIN_LIMIT = parse(settings.rate_limit_login)
_LOGIN = Limit(LOGIN_LIMIT, client_key, "login", False, None, None, None, 1, True)


def check_login_limits(request: Request, username: str) -> None:
    """Count a login per address and per username: 429 over either, 503 sans Redis."""
    if not limiter.enabled:
        return
    keys = (f"ip:{get_remote_address(request)}", f"username:{username.lower()}")
    try:
        for key in keys:
            if not limiter.limiter.hit(LOGIN_LIMIT, key, "login"):
                request.state.view_rate_limit = (LOGIN_LIMIT, [key, "login"])
                raise RateLimitExceeded(_LOGIN)
    except (redis.exceptions.RedisError, StorageError, OSError):
        limiter.logger.exception("Rate limit storage unreachable: refusing the login")
        raise ServiceUnavailable("Login is unavailable, try again shortly") from None


def rate_limit_exceeded_handler(
    request: Request, exc: RateLimitExceeded
) -> JSONResponse:
    """Answer 429 with `{"detail"}` and Retry-After, in seconds."""
    retry_after = 60
    current = getattr(request.state, "view_rate_limit", None)
    if current is not None:
        try:
            reset, _ = limiter.limiter.get_window_stats(current[0], *current[1])
            retry_after = max(1, int(reset - time.time()) + 1)
        except Exception:  # noqa: BLE001 - the 429 stands without an exact wait
            retry_after = current[0].get_expiry()
    return JSONResponse(
        {"detail": f"Rate limit exceeded: {exc.detail}"},
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )
