"""The API's own error classes, apart from the handler that shapes their bodies.

This module imports nothing of DRF but its exceptions: rest_framework.views loads the
throttle classes (core.throttling), which raise these errors.
"""

from rest_framework import exceptions, status

RETRY_AFTER_SECONDS = 5


class RequestTooLarge(exceptions.APIException):
    """A body over the size limit (Django's DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "request_too_large"


class ServiceUnavailable(exceptions.APIException):
    """A dependency (the database) cannot be reached; the client should retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Service temporarily unavailable, try again later."
    default_code = "service_unavailable"
    wait = RETRY_AFTER_SECONDS
