"""Who may do what with accounts."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.fields import id_from_text
from users.exceptions import NotAuthorized


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
        if user.is_superuser or id_from_text(view.kwargs.get("pk")) == user.pk:
            return True
        raise NotAuthorized()
