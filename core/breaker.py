"""A circuit breaker for the shared cache (Redis), one per process.

A Redis that accepts connections and never answers costs every request the whole
socket timeout (0.5 s). After FAILURES failures in a row the breaker opens: for
OPEN_SECONDS calls fail at once with CircuitOpen (a RedisError, so callers treat it
as the outage it stands for: general rate limits let requests through, login and
recovery answer 503). Then one call is let through as a trial; success closes the
breaker, failure opens it again. Opening and closing are logged and counted in
/metrics (`cache_breaker_transitions_total`).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from prometheus_client import Counter
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

FAILURES = 3
OPEN_SECONDS = 10.0
TRANSITIONS = Counter(
    "cache_breaker_transitions_total",
    "Times the shared cache's circuit breaker opened or closed.",
    ["state"],
)
T = TypeVar("T")


class CircuitOpen(RedisError):
    """The breaker is open: the cache was not called."""


class Breaker:
    """Consecutive-failure circuit breaker; thread-safe within one process."""

    def __init__(self) -> None:
        """Start closed."""
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Close, forgetting past failures."""
        self._count = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def failures(self) -> int:
        """Failures in a row that open the breaker (CACHE_BREAKER_FAILURES)."""
        return int(getattr(settings, "CACHE_BREAKER_FAILURES", FAILURES))

    @property
    def open_seconds(self) -> float:
        """How long it stays open before a trial (CACHE_BREAKER_OPEN_SECONDS)."""
        return float(getattr(settings, "CACHE_BREAKER_OPEN_SECONDS", OPEN_SECONDS))

    @property
    def is_open(self) -> bool:
        """Say whether calls are refused now."""
        return self._opened_at is not None

    def call(self, func: Callable[[], T], errors: tuple[type[BaseException], ...]) -> T:
        """Call func unless open; count errors (of the given types) towards opening."""
        with self._lock:
            if self._opened_at is not None:
                if (
                    self._trial
                    or time.monotonic() - self._opened_at < self.open_seconds
                ):
                    raise CircuitOpen("cache circuit breaker open")
                self._trial = True  # one trial call; the others still fail fast
        try:
            result = func()
        except errors as exc:
            self._failed(exc)
            raise
        self._succeeded()
        return result

    def _failed(self, exc: BaseException) -> None:
        """Count a failure; open after enough in a row, or after a failed trial."""
        with self._lock:
            self._count += 1
            was_open = self._opened_at is not None
            self._trial = False
            if was_open or self._count >= self.failures:
                self._opened_at = time.monotonic()
                if not was_open:
                    TRANSITIONS.labels("open").inc()
                    logger.error(
                        "cache circuit breaker open for %.0f s after %d failures (%s)",
                        self.open_seconds,
                        self._count,
                        type(exc).__name__,
                    )

    def _succeeded(self) -> None:
        """Reset the count; close if open."""
        with self._lock:
            was_open = self._opened_at is not None
            self._count = 0
            self._opened_at = None
            self._trial = False
        if was_open:
            TRANSITIONS.labels("closed").inc()
            logger.warning("cache circuit breaker closed: the cache answers again")


cache_breaker = Breaker()
