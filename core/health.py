"""Health checks: plain Django views, outside the API's auth and rate limits."""

import logging
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from core.errors import RETRY_AFTER_SECONDS
from core.http import get_only
from core.metrics import record_dependency_error

logger = logging.getLogger(__name__)

READY_CACHE_KEY = "health:ready"


@get_only
def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers; touches no database and no cache."""
    return JsonResponse({"status": "healthy"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_cache() -> str:
    cache.set(READY_CACHE_KEY, "1", timeout=5)
    if cache.get(READY_CACHE_KEY) != "1":
        return "error: the cache did not keep a value"
    return "ok"


def _run(name: str, check: Callable[[], str]) -> str:
    """Run one check; a failure becomes an error string without details or secrets."""
    try:
        return check()
    except Exception as exc:  # a readiness probe reports every failure, whatever it is
        logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
        record_dependency_error(name)
        return f"error: {type(exc).__name__}"


@get_only
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and the cache both answer."""
    checks = {
        "database": _run("database", _check_database),
        "cache": _run("cache", _check_cache),
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ready" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
        headers=None if healthy else {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
