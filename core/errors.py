"""The API's errors: its error classes, its one Retry-After and its one JSON error.

A view of DRF raises these classes and the exception handler (core/exceptions.py)
shapes the body; code outside DRF (middleware, plain Django views, the admin's login)
answers with json_error(), which gives the same body, `{"detail": ...}`.

This module imports nothing of DRF but its exceptions: rest_framework.views loads the
throttle classes (core.throttling), which raise these errors.
"""

import math
from collections.abc import Mapping
from http import HTTPStatus

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions

# Seconds a client waits before retrying when a dependency (database, cache) is down.
RETRY_AFTER_SECONDS = 5


def json_error(
    detail: str,
    *,
    status: int,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    """Answer an error outside DRF's views with the API's body, {"detail": ...}."""
    response = JsonResponse({"detail": detail}, status=status, headers=headers)
    if retry_after is not None:
        response["Retry-After"] = str(math.ceil(retry_after))
    return response


def is_connection_error(exc: BaseException) -> bool:
    """Say whether a database error means the server can't be reached."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    )


def database_unavailable() -> JsonResponse:
    """Answer a request that could not reach the database: 503 with Retry-After."""
    return json_error(
        str(ServiceUnavailable.default_detail),
        status=ServiceUnavailable.status_code,
        retry_after=RETRY_AFTER_SECONDS,
    )


class BadRequest(exceptions.APIException):
    """A 400 with one message, for errors that are not about one field."""

    status_code = HTTPStatus.BAD_REQUEST
    default_detail = "Bad request."
    default_code = "bad_request"


class RequestTooLarge(exceptions.APIException):
    """A body over the size limit (Django's DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "request_too_large"


class ServiceUnavailable(exceptions.APIException):
    """A dependency (the database) cannot be reached; the client should retry."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_detail = "Service temporarily unavailable, try again later."
    default_code = "service_unavailable"
    wait = RETRY_AFTER_SECONDS
