"""Prometheus metrics: requests by route and status, their latency, dependency errors.

Served only to scrapers: with METRICS_TOKEN set (required in production), GET
/metrics needs `Authorization: Bearer <METRICS_TOKEN>` and is a 401 otherwise.

With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR (an empty folder, wiped at
each start): every worker writes its samples there and GET /metrics adds them all up.
"""

import hmac
import sys
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from redis.exceptions import RedisError

from core.errors import json_error
from core.http import get_only

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Server time of HTTP requests, in seconds, by method, route and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEPENDENCY_ERRORS = Counter(
    "dependency_errors_total",
    "Failed calls to the database or the cache.",
    ["dependency"],
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(*, method: str, route: str, status: int, duration: float) -> None:
    """Count one answered request and its duration."""
    # Any other method string comes from the client: a label must not let it add series.
    method = method if method in _METHODS else "other"
    labels = (method, route, str(status))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(duration)


def record_dependency_error(dependency: str) -> None:
    """Count one failed call to a dependency ("database" or "cache")."""
    DEPENDENCY_ERRORS.labels(dependency).inc()


def dependency_of(exc: BaseException) -> str | None:
    """Name the dependency an exception comes from, if it is the database or cache."""
    if isinstance(exc, DatabaseError):
        return "database"
    if isinstance(exc, RedisError):
        return "cache"
    return None


def count_unhandled_error(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """Count the dependency behind an unhandled error (connected by CoreConfig)."""
    # Sent inside the except block that turns the error into a 500.
    dependency = dependency_of(sys.exc_info()[1] or Exception())
    if dependency:
        record_dependency_error(dependency)


def _is_scraper(request: HttpRequest) -> bool:
    """Say whether the request carries the metrics token (any request, when unset)."""
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


@get_only
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the metrics in Prometheus' text format to scrapers; 404 when disabled."""
    if not settings.METRICS_ENABLED:
        return json_error("Not found.", status=404)
    if not _is_scraper(request):
        # 401, not 404: a scraper with a wrong token learns what to fix, and the
        # public never gets here (deploy/nginx.conf blocks the path).
        return json_error(
            "A valid metrics token is required.",
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
