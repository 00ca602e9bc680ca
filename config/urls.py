"""URLs: health checks and docs outside the router, the API under /api/v1/."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.routers import SimpleRouter

from config import health, metrics
from config.json import ORJSONRenderer
from items.views import ItemViewSet
from users.admin import admin_login
from users.views import (
    LoginView,
    LogoutView,
    PasswordChangeView,
    PasswordRecoveryView,
    PasswordResetView,
    RefreshView,
    UserViewSet,
)


class OptionalSlashRouter(SimpleRouter):
    """Answer a path with or without its trailing slash, without a redirect."""

    def __init__(self) -> None:
        super().__init__()
        # SimpleRouter.__init__ overwrites a class attribute with "/" or "".
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("users", UserViewSet, basename="user")
router.register("items", ItemViewSet, basename="item")

auth_urls = [
    re_path(r"^login/?$", LoginView.as_view(), name="login"),
    re_path(r"^refresh/?$", RefreshView.as_view(), name="refresh"),
    re_path(r"^logout/?$", LogoutView.as_view(), name="logout"),
    re_path(
        r"^password-recovery/?$",
        PasswordRecoveryView.as_view(),
        name="password-recovery",
    ),
    re_path(r"^reset-password/?$", PasswordResetView.as_view(), name="reset-password"),
]

api_urls = [
    re_path(r"^auth/", include(auth_urls)),
    re_path(
        r"^users/me/password/?$", PasswordChangeView.as_view(), name="password-change"
    ),
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
    path("", include(router.urls)),
]


@csrf_exempt  # else a POST, PUT or DELETE gets the CSRF middleware's 403 HTML page
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Answer an unknown path with JSON, in every mode."""
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    """Answer an unhandled error with JSON and no details."""
    return JsonResponse({"detail": "Internal server error."}, status=500)


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
