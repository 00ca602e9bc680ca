"""One exception handler shapes every error body of the API: {"detail": ...}.

The middleware here keeps that promise outside DRF too: no HTML error page under
/api/ or /health, in any mode (DEBUG included), and 503 when the database is down.
"""

import logging
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from core.errors import (
    RequestTooLarge,
    ServiceUnavailable,
    database_unavailable,
    is_connection_error,
)
from core.metrics import record_dependency_error
from core.throttling import unauthenticated_wait

logger = logging.getLogger(__name__)

JSON_ERROR_PREFIXES = ("/api/", "/health")


def log_and_count_database_outage(exc: BaseException) -> bool:
    """Log and count exc if it means the database can't be reached; return whether."""
    if not (isinstance(exc, DatabaseError) and is_connection_error(exc)):
        return False
    logger.error("database unreachable: %s", type(exc).__name__)
    record_dependency_error("database")
    return True


def _only_non_field_errors(data: Any) -> bool:
    """Say whether a validation error body holds nothing but non-field errors."""
    return (
        isinstance(data, dict)
        and list(data) == [api_settings.NON_FIELD_ERRORS_KEY]
        and isinstance(data[api_settings.NON_FIELD_ERRORS_KEY], list)
        and len(data[api_settings.NON_FIELD_ERRORS_KEY]) == 1
    )


def _client_error(exc: SuspiciousOperation) -> exceptions.APIException:
    """Turn a request Django finds absurd (100,000 form fields) into a 4xx.

    Django's own handler would log it at error level with a traceback; it is the
    client's doing, so it is one warning line.
    """
    logger.warning("request refused: %s", type(exc).__name__)
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(
            "Request body too large: the limit is "
            f"{settings.MAX_REQUEST_BODY_BYTES} bytes."
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return exceptions.ParseError(
            "Too many form fields: the limit is "
            f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}."
        )
    return exceptions.ParseError("Malformed request.")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Run DRF's handler, with every error body under a "detail" key.

    A lone non-field error (a body that is a list instead of an object, say) becomes
    `{"detail": "<message>"}`; field errors stay keyed by field under "detail". A 401
    over the anonymous rate limit becomes a 429.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, SuspiciousOperation):
        exc = _client_error(exc)
    elif log_and_count_database_outage(exc):
        exc = ServiceUnavailable()
    elif isinstance(
        exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed
    ) and (request := context.get("request")):
        # A 401 comes before DRF's throttles run: count it on the anonymous limit.
        wait = unauthenticated_wait(request, context.get("view"))
        if wait is not None:
            exc = exceptions.Throttled(wait=wait)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if _only_non_field_errors(response.data):
        response.data = {"detail": response.data[api_settings.NON_FIELD_ERRORS_KEY][0]}
    elif not (isinstance(response.data, dict) and "detail" in response.data):
        response.data = {"detail": response.data}
    return response


def _wants_json_errors(request: HttpRequest) -> bool:
    return request.path_info.startswith(JSON_ERROR_PREFIXES)


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


class JSONErrorMiddleware:
    """Make every error under /api/ and /health JSON, whatever raised it.

    DRF's handler covers the views; this covers what happens around them: an
    unexpected exception (Django's HTML 500, or its debug page when DEBUG is on), a
    refused Host header (HTML 400) and a database that is down outside DRF (503).
    The response is rewritten in place, so headers set by other middleware survive.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Pass the request on; turn a non-JSON error answer into JSON."""
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and not response.streaming
            and _wants_json_errors(request)
            and not _is_json(response)
        ):
            _rewrite_as_json(response)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        """Under /api/ and /health, answer an unreachable database with 503 JSON."""
        # Elsewhere Django's handler answers (core.http.server_error, 503 too), and
        # its got_request_exception signal counts the error (core.metrics):
        # counting it here too would count it twice.
        if not (
            _wants_json_errors(request) and log_and_count_database_outage(exception)
        ):
            return None
        return database_unavailable()


def _rewrite_as_json(response: HttpResponse) -> None:
    """Replace an error body by {"detail": <reason>}, keeping status and headers."""
    detail = (
        "Internal server error."
        if response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
        else f"{response.reason_phrase}."
    )
    response.content = orjson.dumps({"detail": detail})
    response["Content-Type"] = "application/json"
    response.headers.pop("Content-Encoding", None)  # the old body may have been gzipped
    if "Content-Length" in response:
        response["Content-Length"] = str(len(response.content))
