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
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import get_settings
from app.core.exceptions import ServiceUnavailable
from app.core.security import decode_token

settings = get_settings()


def client_key(request: Request) -> str:
    """Count a caller with a valid access token by user, anyone else by address."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            return f"user:{decode_token(token, 'access')['sub']}"
        except jwt.InvalidTokenError:
            pass
    return f"ip:{get_remote_address(request)}"


limiter = Limiter(
    key_func=client_key,
    storage_uri=settings.redis_url,
    storage_options={"socket_connect_timeout": 1, "socket_timeout": 1},
    enabled=settings.rate_limits_enabled,
)
ANON_LIMIT = parse(settings.rate_limit_anon)
USER_LIMIT = parse(settings.rate_limit_user)
# Not counted by the general limit: the docs, and the login (which has its own).
UNLIMITED = (
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/redoc",
    "/api/v1/auth/login",
)


class RateLimitMiddleware:
    """The general limits, before validation and auth, so that 401s and 422s count.

    slowapi's decorators run after FastAPI has validated the request and resolved its
    dependencies, and its default limits count per path; the contract's limits are
    per caller over the whole API. This counts one hit per API request in slowapi's
    storage, per user for a valid access token, else per address. Redis down: the
    request goes through and the failure is logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request; answer 429 over the limit."""
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith("/api/v1/")
            or path.rstrip("/").startswith(UNLIMITED)
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = client_key(request)
        limit = USER_LIMIT if key.startswith("user:") else ANON_LIMIT
        try:
            allowed = limiter.limiter.hit(limit, key, "api")
        except (redis.exceptions.RedisError, StorageError, OSError):
            limiter.logger.exception("Rate limit storage unreachable: not limiting")
            allowed = True
        if not allowed:
            request.state.view_rate_limit = (limit, [key, "api"])
            exceeded = Limit(limit, client_key, "api", False, None, None, None, 1, True)
            response = rate_limit_exceeded_handler(request, RateLimitExceeded(exceeded))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


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
