"""Rate limits: DRF's throttles, counted atomically per fixed window in Redis.

DRF's SimpleRateThrottle reads a list of timestamps from the cache, appends and
writes it back, so two workers that read the same list both let a request through and
one write wins; under load a limit is exceeded by up to the number of workers. The
throttles here are DRF's own classes (their scopes, rates and keys), with the counting
replaced (allow_request, throttle_success, wait): a hit is one MULTI/EXEC of
`SET <key>:<window> 0 EX NX` and `INCR`, which is atomic, so a limit holds exactly
across processes and machines. The price of a fixed window is that a client may spend
a full quota at the end of one window and another at the start of the next (at most
twice the rate across a boundary); the average over any two windows stays within the
rate, and Retry-After is exact.

When the cache cannot be reached, the general limits (anonymous, authenticated) let
the request through and log it, and the sensitive ones (login, password recovery: any
throttle with `fail_closed`) refuse it with 503, so that they never go unlimited. The
calls go through the circuit breaker (core/breaker.py), so a hung Redis fails fast, and
only the failures that reach Redis are logged (the breaker logs its opening).

Client address: REMOTE_ADDR, unless NUM_PROXIES > 0, in which case the address that
the outermost trusted proxy appended to X-Forwarded-For (the NUM_PROXIES-th entry from
the right). Entries that the client wrote itself are left of it and are ignored, so a
spoofed or rotated X-Forwarded-For does not reset a limit.
"""

import hashlib
import ipaddress
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from redis import Redis
from rest_framework import exceptions, throttling
from rest_framework.settings import api_settings

from core.breaker import CircuitOpen, cache_breaker
from core.cache import CACHE_ERRORS
from core.errors import ServiceUnavailable, json_error

logger = logging.getLogger(__name__)

# Counters outlive their window a little, so that a clock skew between machines
# never makes a late INCR recreate an expired counter.
WINDOW_GRACE_SECONDS = 5


class RateLimitUnavailable(ServiceUnavailable):
    """The rate-limit store is down, and this endpoint must not go unlimited."""

    default_detail = "Rate limiting is temporarily unavailable, try again later."
    default_code = "rate_limit_unavailable"


def _count_in_redis(client: Redis, key: str, timeout: int) -> int:
    """SET NX EX and INCR in one MULTI/EXEC round trip: atomic, always expiring."""
    # Django's RedisCache.incr checks EXISTS first: a second round trip, and a race
    # that could leave a counter without expiry.
    with client.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=timeout, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
    return int(count)


class WindowThrottle(throttling.SimpleRateThrottle):
    """A DRF rate throttle counted atomically in the shared cache, per fixed window.

    A mixin for DRF's throttle classes, named after them (`AnonWindowThrottle` is
    DRF's AnonRateThrottle on this counter): they give the scope and the key
    (get_cache_key), this class counts.
    """

    cache_format = "throttle:%(scope)s:%(ident)s"
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
        # DRF binds THROTTLE_RATES when its module loads; the test settings change.
        # DRF's stubs type the setting's rates as numbers; they are "5/min" strings.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        return super().get_rate()

    def allow_request(self, request: Any, view: Any) -> bool:
        """Count this request in its window; refuse it over the rate."""
        if not settings.RATE_LIMITS_ENABLED or self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        try:
            count = cache_breaker.call(
                lambda: self.count(f"{self.key}:{window}"), CACHE_ERRORS
            )
        except CACHE_ERRORS as exc:
            return self.cache_unavailable(exc)
        if count > self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def count(self, key: str) -> int:
        """Count one hit on the window's counter; return the window's count so far."""
        timeout = self.duration + WINDOW_GRACE_SECONDS
        redis_client = getattr(self.cache, "redis_client", None)
        if redis_client is not None:  # core.cache.SharedClientRedisCache
            redis_key = self.cache.make_and_validate_key(key)
            return _count_in_redis(redis_client(), redis_key, timeout)
        # Other backends (local memory in development and tests): add, then increment.
        self.cache.add(key, 0, timeout=timeout)
        try:
            return self.cache.incr(key)
        except ValueError:  # evicted between the two calls
            self.cache.add(key, 1, timeout=timeout)
            return 1

    def cache_unavailable(self, exc: BaseException) -> bool:
        """Let the request through, or refuse it with 503 when `fail_closed`."""
        if not isinstance(exc, CircuitOpen):  # the breaker logged its opening
            logger.error(
                "rate-limit store unreachable (%s): %s scope %s",
                type(exc).__name__,
                "refusing requests with 503 in"
                if self.fail_closed
                else "letting requests through in",
                self.scope,
            )
        if self.fail_closed:
            raise RateLimitUnavailable() from None
        return True

    def throttle_success(self) -> bool:
        """Let the request through: the hit is counted already (DRF's stores it)."""
        return True

    def wait(self) -> float:
        """Return the seconds until the current window ends (at least one)."""
        return max(self.window_end - self.now, 1.0)


class AnonWindowThrottle(throttling.AnonRateThrottle, WindowThrottle):
    """Anonymous requests, per client address (`anon` rate).

    DRF runs throttles after authentication and permissions, so a request refused
    with 401 never reaches them: the exception handler counts it here instead
    (`unauthenticated_wait`). A request is counted once, whichever comes first.
    """

    def allow_request(self, request: Any, view: Any) -> bool:
        """Count the request unless it was counted already; refuse it over the rate."""
        if getattr(request, "_counted_as_anonymous", False):
            return True
        request._counted_as_anonymous = True
        return super().allow_request(request, view)


def unauthenticated_wait(request: Any, view: Any) -> float | None:
    """Count a request refused for want of authentication as anonymous.

    Returns the seconds to wait when the anonymous limit is exceeded, else None.
    Without this, missing, bad and forged bearer tokens could be tried unlimited.
    """
    throttle = AnonWindowThrottle()
    if throttle.allow_request(request, view):
        return None
    return throttle.wait()


class UserWindowThrottle(throttling.UserRateThrottle, WindowThrottle):
    """Authenticated requests, per user (`user` rate)."""

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Key on the user id; anonymous requests are counted by AnonWindowThrottle."""
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedWindowThrottle(throttling.ScopedRateThrottle, WindowThrottle):
    """Requests to views that name a `throttle_scope`, per client address.

    These guard sensitive endpoints (login, password recovery), so they refuse
    requests with 503 rather than go unlimited when the cache is down.
    """

    fail_closed = True

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Key on the scope and the client address, whoever is logged in."""
        return self.cache_format % {
            "scope": self.scope,
            "ident": self.get_ident(request),
        }


class BodyFieldWindowThrottle(WindowThrottle):
    """Requests per value of a body field (an email), whoever sends them.

    The value is lower-cased and hashed: keys stay short and hold no personal data.
    A body without the field is not counted here (the per-address limit still is).
    """

    fail_closed = True
    fields: tuple[str, ...] = ()

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
                return self.cache_format % {"scope": self.scope, "ident": digest[:32]}
        return None


class LoginUsernameThrottle(BodyFieldWindowThrottle):
    """Login attempts per username (the email), from any address."""

    scope = "login_username"
    fields = ("username", "email")


class PasswordRecoveryEmailThrottle(BodyFieldWindowThrottle):
    """Password-recovery requests per email, from any address."""

    scope = "password_recovery_email"
    fields = ("email",)


def throttle_refusal(
    request: HttpRequest, view: Any, throttles: Iterable[WindowThrottle]
) -> JsonResponse | None:
    """Run throttles on a request outside DRF's views (the admin's login page).

    Returns the answer the API would give (429 with Retry-After over a limit, 503
    when a fail-closed limit's store is down), or None when every throttle allows it.
    """
    for throttle in throttles:
        refusal: exceptions.APIException
        try:
            if throttle.allow_request(request, view):
                continue
            refusal = exceptions.Throttled(wait=throttle.wait())
        except RateLimitUnavailable as unavailable:
            refusal = unavailable
        return json_error(
            str(refusal.detail),
            status=refusal.status_code,
            retry_after=getattr(refusal, "wait", None),
        )
    return None
