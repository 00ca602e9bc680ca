"""HTTP plumbing: request id, timing (access log, metrics), gzip, body limit.

Each concern is one small function middleware; see MIDDLEWARE in config/settings.py for
their order. The work per request is a few header and dict operations.
"""

import io
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware
from django.utils.functional import SimpleLazyObject

from core import metrics
from core.errors import json_error

GetResponse = Callable[[HttpRequest], HttpResponse]

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

access_logger = structlog.get_logger("access")


def clean_request_id(value: str | None) -> str | None:
    """Return an incoming request id when it is a sane token, else None."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


def request_id_middleware(get_response: GetResponse) -> GetResponse:
    """Give every request an id, on its response and on every log line it causes."""

    def middleware(request: HttpRequest) -> HttpResponse:
        # META, not request.headers: that would build a dict of every header.
        request_id = clean_request_id(request.META.get("HTTP_X_REQUEST_ID")) or str(
            uuid.uuid4()
        )
        request.id = request_id  # type: ignore[attr-defined]
        # Cleared at the start rather than the end: Django logs a 5xx after the
        # middleware chain has returned, and that line needs the id too.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response = get_response(request)
        response["X-Request-ID"] = request_id
        return response

    return middleware


def route_name(request: HttpRequest) -> str:
    """Name the route that served a request, with few distinct values (a label)."""
    match = request.resolver_match
    if match is None:  # answered before URL resolution (static file, 413, preflight)
        return "unrouted"
    return match.view_name


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject):
        # Django's session user, loaded only if the view needed it: loading it here
        # would cost a query on requests that never asked who the user is.
        user = getattr(request, "_cached_user", None)
    return getattr(user, "pk", None)


def timing_middleware(get_response: GetResponse) -> GetResponse:
    """Time each request: X-Process-Time, one access line, and the metrics if on.

    One measurement serves all three, so they agree: the access line's duration is the
    header's, and so is the latency the metrics observe.
    """
    metrics_enabled = settings.METRICS_ENABLED

    def middleware(request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = get_response(request)
        duration = time.perf_counter() - start
        response["X-Process-Time"] = f"{duration:.6f}"
        route = route_name(request)
        status = response.status_code
        log = access_logger.error if status >= 500 else access_logger.info
        log(
            "request",
            method=request.method,
            path=request.path,
            route=route,
            status=status,
            duration=round(duration, 6),
            user_id=_user_id(request),
        )
        if metrics_enabled:
            metrics.observe_request(
                method=request.method or "",
                route=route,
                status=status,
                duration=duration,
            )
        return response

    return middleware


def body_size_limit_middleware(get_response: GetResponse) -> GetResponse:
    """Refuse a request body over MAX_REQUEST_BODY_BYTES with 413, before any read."""
    limit = settings.MAX_REQUEST_BODY_BYTES

    def middleware(request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH")
        # More than 18 digits is over any limit, and too long for a cheap int().
        if (
            length
            and length.isascii()
            and length.isdigit()
            and (len(length) > 18 or int(length) > limit)
        ):
            return json_error(
                f"Request body too large: the limit is {limit} bytes.", status=413
            )
        return get_response(request)

    return middleware


class GZipMiddleware(DjangoGZipMiddleware):
    """Django's gzip, from 1,000 bytes (the contract) rather than Django's 200."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """Leave bodies under min_length as they are; compress the others."""
        if isinstance(response, HttpResponse) and len(response.content) < 1000:
            return response
        return super().process_response(request, response)


# WSGI
# ------------------------------------------------------------------------------
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def buffer_chunked_bodies(app: WSGIApp, *, limit: int) -> WSGIApp:
    """Read a chunked request body up to limit + 1 bytes and give it a Content-Length.

    gunicorn passes a chunked body without CONTENT_LENGTH, which Django then reads as
    empty. Reading at most limit + 1 bytes bounds the memory; a body over the limit
    keeps a CONTENT_LENGTH over it, which body_size_limit_middleware refuses with 413.
    """

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if "chunked" in environ.get(
            "HTTP_TRANSFER_ENCODING", ""
        ).lower() and not environ.get("CONTENT_LENGTH"):
            body = environ["wsgi.input"].read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return wrapped
