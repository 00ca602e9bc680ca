"""The viewsets every app's API builds on."""

from typing import TypeVar

from django.db.models import Model
from rest_framework import mixins, viewsets
from rest_framework.request import Request

from core.json import JSONRequestMixin

_MT_co = TypeVar("_MT_co", bound=Model, covariant=True)


class GenericViewSet(JSONRequestMixin, viewsets.GenericViewSet[_MT_co]):
    """DRF's GenericViewSet, with JSON requests and a 405 before any 401 or 403.

    A method the path lacks (PUT on a collection, say) has no action: it is a 405
    whoever asks, so an anonymous client learns the same as a logged-in one.
    """

    def check_permissions(self, request: Request) -> None:
        """Check the action's permissions; a method without an action skips them."""
        if self.action is None:
            return
        super().check_permissions(request)


class ModelViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    GenericViewSet[_MT_co],
):
    """DRF's ModelViewSet on the GenericViewSet above."""
