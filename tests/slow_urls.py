"""Test-only URLconf: the real one plus a slow view, to catch a request in flight."""

import time
from pathlib import Path

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import handler404, handler500
from config.urls import urlpatterns as real_urlpatterns


def slow(request: HttpRequest) -> JsonResponse:
    """Touch the marker file (the request is now in flight), sleep, then answer."""
    Path(request.GET["marker"]).touch()
    seconds = float(request.GET.get("seconds", "1"))
    time.sleep(seconds)
    return JsonResponse({"slept": seconds})


urlpatterns = [path("test/slow", slow), *real_urlpatterns]
__all__ = ["handler404", "handler500", "urlpatterns"]
