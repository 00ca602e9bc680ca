"""URLs: health checks and docs outside the router, the API under /api/v1/."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.routers import SimpleRouter

from config import health
from items.views import ItemViewSet
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

    trailing_slash = "/?"


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
    re_path(r"^openapi\.json/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(
        r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"
    ),
    re_path(
        r"^redoc/?$", SpectacularRedocView.as_view(url_name="schema"), name="redoc"
    ),
    path("", include(router.urls)),
]


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
    path(settings.ADMIN_URL, admin.site.urls),
    re_path(r"^(?!static/)", not_found),
]

handler404 = not_found
handler500 = server_error
