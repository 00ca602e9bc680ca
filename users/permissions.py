"""Who may do what with accounts."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from users.exceptions import NotAuthorized


def _as_int(value: Any) -> int | None:
    # ASCII digits only: int() would also read " 7", "7_0" and other scripts' digits.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


class IsSuperuser(BasePermission):
    """Allow superusers only."""

    message = "The user doesn't have enough privileges"

    def has_permission(self, request: Request, view: Any) -> bool:
        """Let an authenticated superuser through."""
        return bool(
            request.user and request.user.is_authenticated and request.user.is_superuser
        )


class IsSelfOrSuperuser(BasePermission):
    """Allow a user to reach their own record; a superuser reaches any.

    Decided from the URL alone, before any lookup: a 403 never reveals whether the
    id exists.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        """Compare the id in the path with the caller's."""
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user.is_superuser or _as_int(view.kwargs.get("pk")) == user.pk:
            return True
        raise NotAuthorized()
