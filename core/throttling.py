"""Rate limits: fixed-window counters in the shared cache (Redis), atomic per hit.

Why not DRF's SimpleRateThrottle as is: it reads a list of timestamps, appends and
writes it back, so two workers that read the same list both let a request through and
one write wins; under load a limit is exceeded by up to the number of workers. Here a
hit is one Redis INCR of the counter of the current window (`<key>:<window number>`),
which is atomic, so a limit holds exactly across processes and machines. The price of
a fixed window is that a client may spend a full quota at the end of one window and
another at the start of the next (at most twice the rate across a boundary); the
average over any two windows stays within the rate, and Retry-After is exact.

When the cache cannot be reached, the general limits (anonymous, authenticated) let
the request through and log it, and the sensitive ones (login, password recovery: any
throttle with `fail_closed`) refuse it with 503, so that they never go unlimited.

Client address: REMOTE_ADDR, unless NUM_PROXIES > 0, in which case the address that
the outermost trusted proxy appended to X-Forwarded-For (the NUM_PROXIES-th entry from
the right). Entries that the client wrote itself are left of it and are ignored, so a
spoofed or rotated X-Forwarded-For does not reset a limit.
"""

import hashlib
import ipaddress
import logging
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from rest_framework import throttling
from rest_framework.settings import api_settings

from core.breaker import cache_breaker
from core.cache import CACHE_ERRORS, SharedClientRedisCache
from core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

# Counters outlive their window a little, so that a clock skew between machines
# never makes a late INCR recreate an expired counter.
WINDOW_GRACE_SECONDS = 5
# A cache outage logs at most one line per this many seconds and process.
OUTAGE_LOG_INTERVAL = 10.0
_last_outage_log = 0.0


class RateLimitUnavailable(ServiceUnavailable):
    """The rate-limit store is down, and this endpoint must not go unlimited."""

    default_detail = "Rate limiting is temporarily unavailable, try again later."
    default_code = "rate_limit_unavailable"


def _log_outage(scope: str, exc: BaseException, *, fail_closed: bool) -> None:
    """Log that the counters are unreachable, at most once per interval."""
    global _last_outage_log  # noqa: PLW0603 - one timestamp per process
    now = time.monotonic()
    if now - _last_outage_log < OUTAGE_LOG_INTERVAL:
        return
    _last_outage_log = now
    logger.error(
        "rate-limit store unreachable (%s): %s scope %s",
        type(exc).__name__,
        "refusing requests with 503 in"
        if fail_closed
        else "letting requests through in",
        scope,
    )


def hit(key: str, *, timeout: int) -> int:
    """Count one hit on a counter that expires after timeout; return the new count."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, SharedClientRedisCache):
        # Through the breaker: a hung Redis then fails fast (core/breaker.py).
        return cache_breaker.call(
            lambda: _hit_redis(backend, key, timeout=timeout), CACHE_ERRORS
        )
    # Other backends (local memory in development and tests): add, then increment.
    backend.add(key, 0, timeout=timeout)
    try:
        return backend.incr(key)
    except ValueError:  # evicted between the two calls
        backend.add(key, 1, timeout=timeout)
        return 1


def _hit_redis(backend: SharedClientRedisCache, key: str, *, timeout: int) -> int:
    """SET NX EX and INCR in one MULTI/EXEC round trip: atomic, always expiring."""
    redis_key = backend.make_and_validate_key(key)
    # Django's RedisCache.incr checks EXISTS first (a second round trip, and a race
    # that could leave a counter without expiry); its pool is reused.
    client = backend.redis_client()  # the process's one client (core/cache.py)
    with client.pipeline(transaction=True) as pipe:
        pipe.set(redis_key, 0, ex=timeout, nx=True)
        pipe.incr(redis_key)
        _, count = pipe.execute()
    return int(count)


class RateThrottle(throttling.SimpleRateThrottle):
    """A rate limit counted atomically in the shared cache, per fixed window."""

    fail_closed = False  # True: refuse with 503 when the cache is down
    num_requests: int
    duration: int

    def get_ident(self, request: Any) -> str:
        """Return the client address (see the module docstring), as a safe key part.

        An IPv6 client is keyed by its /64 network, which one host usually holds
        whole; anything that is not an address (a malformed forwarded entry) is hashed.
        """
        ident = (super().get_ident(request) or "").strip()
        try:
            address = ipaddress.ip_address(ident)
        except ValueError:
            return f"x{hashlib.sha256(ident.encode()).hexdigest()[:32]}"
        if address.version == 6 and address.ipv4_mapped:  # ::ffff:a.b.c.d
            return str(address.ipv4_mapped)
        if address.version == 6:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)

    def get_rate(self) -> str | None:
        """Read the rate of the scope now, so that changed settings apply."""
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        return super().get_rate()

    def allow_request(self, request: Any, view: Any) -> bool:
        """Count this request in its window; refuse it over the rate."""
        if not settings.RATE_LIMITS_ENABLED or self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        try:
            count = hit(f"{key}:{window}", timeout=self.duration + WINDOW_GRACE_SECONDS)
        except CACHE_ERRORS as exc:
            _log_outage(str(self.scope), exc, fail_closed=self.fail_closed)
            if self.fail_closed:
                raise RateLimitUnavailable() from None
            return True
        return count <= self.num_requests

    def wait(self) -> float:
        """Return the seconds until the current window ends (at least one)."""
        return max(self.window_end - self.now, 1.0)


class AnonRateThrottle(RateThrottle):
    """Anonymous requests, per client address (`anon` rate).

    DRF runs throttles after authentication and permissions, so a request refused
    with 401 never reaches them: the exception handler counts it here instead
    (`unauthenticated_wait`). A request is counted once, whichever comes first.
    """

    scope = "anon"

    def allow_request(self, request: Any, view: Any) -> bool:
        """Count the request unless it was counted already; refuse it over the rate."""
        if getattr(request, "_counted_as_anonymous", False):
            return True
        request._counted_as_anonymous = True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Key on the client address; authenticated requests are not counted here."""
        if request.user and request.user.is_authenticated:
            return None
        return f"throttle:{self.scope}:{self.get_ident(request)}"


def unauthenticated_wait(request: Any, view: Any) -> float | None:
    """Count a request refused for want of authentication as anonymous.

    Returns the seconds to wait when the anonymous limit is exceeded, else None.
    Without this, missing, bad and forged bearer tokens could be tried unlimited.
    """
    throttle = AnonRateThrottle()
    if throttle.allow_request(request, view):
        return None
    return throttle.wait()


class UserRateThrottle(RateThrottle):
    """Authenticated requests, per user (`user` rate)."""

    scope = "user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Key on the user id; anonymous requests are counted by AnonRateThrottle."""
        if not (request.user and request.user.is_authenticated):
            return None
        return f"throttle:{self.scope}:{request.user.pk}"


class ScopedRateThrottle(RateThrottle):
    """Requests to views that name a `throttle_scope`, per client address.

    These guard sensitive endpoints (login, password recovery), so they refuse
    requests with 503 rather than go unlimited when the cache is down.
    """

    fail_closed = True

    def __init__(self) -> None:
        """Defer the rate until the view names its scope."""

    def allow_request(self, request: Any, view: Any) -> bool:
        """Take the scope from the view, then count the request."""
        self.scope = getattr(view, "throttle_scope", None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        # A scope always has a rate (get_rate raises otherwise), so neither is None.
        self.num_requests, self.duration = self.parse_rate(self.rate)  # type: ignore[assignment]
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Key on the scope and the client address."""
        return f"throttle:{self.scope}:{self.get_ident(request)}"


class BodyFieldRateThrottle(RateThrottle):
    """Requests per value of a body field (an email), whoever sends them.

    The value is lower-cased and hashed: keys stay short and hold no personal data.
    A body without the field is not counted here (the per-address limit still is).
    """

    fail_closed = True
    fields: tuple[str, ...] = ()
    key_scope: str | None = None  # counts apart from other users of the same rate

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Key on the first of `fields` that the body holds as a non-empty string."""
        # DRF's parsed body, or a Django form post (the admin's login).
        data = getattr(request, "data", None) or getattr(request, "POST", None)
        if not isinstance(data, Mapping):
            return None
        for field in self.fields:
            value = data.get(field)
            if isinstance(value, str) and value.strip():
                digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()
                return f"throttle:{self.key_scope or self.scope}:{digest[:32]}"
        return None


class LoginUsernameRateThrottle(BodyFieldRateThrottle):
    """Login attempts per username (the email), from any address."""

    scope = "login_username"
    fields = ("username", "email")


class PasswordRecoveryEmailRateThrottle(BodyFieldRateThrottle):
    """Password-recovery requests per email, from any address."""

    scope = "password_recovery_email"
    fields = ("email",)
