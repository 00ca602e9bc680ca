"""URLs: health checks and docs outside the router, each app's API under /api/v1/."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from core import health, metrics
from core.http import not_found, server_error
from core.json import ORJSONRenderer
from users.admin import admin_login

api_urls = [
    path("", include("users.urls")),
    path("", include("items.urls")),
    re_path(
        r"^openapi\.json/?$",
        # application/json, as FastAPI serves it; errors (a 405) stay JSON too.
        SpectacularJSONAPIView.as_view(renderer_classes=[ORJSONRenderer]),
        name="schema",
    ),
    re_path(
        r"^docs/?$", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"
    ),
    re_path(
        r"^redoc/?$",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="redoc.html"),
        name="redoc",
    ),
]


urlpatterns = [
    re_path(r"^health/?$", health.live, name="health"),
    re_path(r"^health/ready/?$", health.ready, name="health-ready"),
    path("api/v1/", include((api_urls, "api"))),
    # The admin's login page, rate limited; it shadows the admin's own login route.
    path(f"{settings.ADMIN_URL}login/", admin_login, name="admin-login"),
    path(settings.ADMIN_URL, admin.site.urls),
    re_path(r"^metrics/?$", metrics.metrics_view, name="metrics"),
    # The service has no home page: send a browser to the docs.
    path(
        "",
        csrf_exempt(RedirectView.as_view(pattern_name="api:docs")),
        name="home",
    ),
    re_path(r"^(?!static/)", not_found, name="not-found"),
]

handler404 = not_found
handler500 = server_error
