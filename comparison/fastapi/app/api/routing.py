"""An APIRouter under which each path answers with and without its trailing slash."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class SlashRouter(APIRouter):
    """Register every route twice, `/items/` and `/items`, the second out of the schema.

    The app runs with `redirect_slashes=False`: a redirected POST loses its body, and
    the contract wants both spellings to answer the same.
    """

    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], **kwargs: Any
    ) -> None:
        """Add the route as written, then its other spelling, hidden from the schema."""
        super().add_api_route(path, endpoint, **kwargs)
        other = path[:-1] if path.endswith("/") else f"{path}/"
        if other != path:
            kwargs["include_in_schema"] = False
            kwargs.pop("operation_id", None)
            super().add_api_route(other, endpoint, **kwargs)
