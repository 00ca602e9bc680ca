"""The users app's API: auth, the users collection and the password change.

Included from config/urls.py under /api/v1/, in the "api" namespace.
"""

from django.urls import include, path, re_path

from core.routers import OptionalSlashRouter
from users.views import (
    LoginView,
    LogoutView,
    PasswordChangeView,
    PasswordRecoveryView,
    PasswordResetView,
    RefreshView,
    UserViewSet,
)

router = OptionalSlashRouter()
router.register("users", UserViewSet, basename="user")

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

urlpatterns = [
    re_path(r"^auth/", include(auth_urls)),
    re_path(
        r"^users/me/password/?$", PasswordChangeView.as_view(), name="password-change"
    ),
    path("", include(router.urls)),
]
