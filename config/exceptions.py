"""One exception handler shapes every error body of the API: {"detail": ...}."""

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from config.metrics import record_dependency_error

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(exceptions.APIException):
    """A dependency (the database) cannot be reached; the client should retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Service temporarily unavailable, try again later."
    default_code = "service_unavailable"
    wait = RETRY_AFTER_SECONDS


def is_connection_error(exc: BaseException) -> bool:
    """Say whether a database error means the server can't be reached."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Run DRF's handler, with every error body under a "detail" key."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, DatabaseError) and is_connection_error(exc):
        logger.error("database unreachable: %s", type(exc).__name__)
        record_dependency_error("database")
        exc = ServiceUnavailable()
    response = exception_handler(exc, context)
    if response is not None and not (
        isinstance(response.data, dict) and "detail" in response.data
    ):
        response.data = {"detail": response.data}
    return response
