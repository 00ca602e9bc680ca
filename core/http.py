"""Small helpers for plain Django views (outside DRF)."""

import sys
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.errors import database_unavailable, is_connection_error, json_error


def get_only(
    view: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Answer 405 JSON with Allow for anything but GET and HEAD."""

    def wrapper(request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return json_error(
                f'Method "{request.method}" not allowed.',
                status=405,
                headers={"Allow": "GET, HEAD"},
            )
        return view(request)

    wrapper.__doc__ = view.__doc__
    # Else the CSRF middleware answers POST (or QUERY) with a 403 before the 405.
    return csrf_exempt(wrapper)


@csrf_exempt  # else a POST, PUT or DELETE gets the CSRF middleware's 403 HTML page
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Answer an unknown path with JSON, in every mode."""
    return json_error("Not found.", status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    """Answer an unhandled error with JSON and no details; 503 if the database is down.

    Django calls this inside the except block of the error (the admin's, say), so
    sys.exception() is that error; got_request_exception has already counted it.
    """
    if is_connection_error(sys.exception() or Exception()):
        return database_unavailable()
    return json_error("Internal server error.", status=500)
