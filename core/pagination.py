"""The list shape of the API: skip/limit, a bare list, X-Total-Count and Link."""

import re
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

_INTEGER = re.compile(r"-?[0-9]{1,30}")  # longer is absurd, not merely too big
# Within PostgreSQL's bigint OFFSET, and the largest integer a JavaScript client (or
# ReDoc) reads exactly: 2**63 - 1 showed as 9223372036854776000.
MAX_SKIP = 2**53 - 1


def _bounded_int(
    request: Request, name: str, *, default: int, low: int, high: int
) -> int:
    """Read an integer query parameter, or raise a 400 that names it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # int() would also take " 7", "1_0" and non-ASCII digits; a query takes digits.
    if not _INTEGER.fullmatch(raw):
        raise ValidationError({name: ["A valid integer is required."]})
    value = int(raw)
    if not low <= value <= high:
        raise ValidationError(
            {name: [f"Ensure this value is between {low} and {high}."]}
        )
    return value


class SkipLimitPagination(LimitOffsetPagination):
    """Paginate with `skip` (default 0) and `limit` (default 100, at most 100)."""

    offset_query_param = "skip"
    limit_query_param = "limit"
    default_limit = max_limit = 100
    template = None

    def get_limit(self, request: Request) -> int:
        """Return the validated limit; out of range is an error, never a clamp."""
        return _bounded_int(
            request, "limit", default=self.default_limit, low=1, high=self.max_limit
        )

    def get_offset(self, request: Request) -> int:
        """Return the validated skip."""
        return _bounded_int(request, "skip", default=0, low=0, high=MAX_SKIP)

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        """Validate both parameters before touching the database, then slice."""
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        self.count = self.get_count(queryset)
        if self.count == 0 or self.offset >= self.count:
            return []
        return list(queryset[self.offset : self.offset + self.limit])

    def link_header(self) -> str:
        """Return the RFC 8288 Link header value for the next and previous pages."""
        links = []
        if (url := self.get_next_link()) is not None:
            links.append(f'<{url}>; rel="next"')
        if (url := self.get_previous_link()) is not None:
            links.append(f'<{url}>; rel="prev"')
        return ", ".join(links)

    def get_previous_link(self) -> str | None:
        """Link the page before this one, clamped at the start (and at the end)."""
        if self.offset <= 0:
            return None
        url = replace_query_param(
            self.request.build_absolute_uri(), "limit", self.limit
        )
        previous = min(self.offset, max(self.count, self.limit)) - self.limit
        if previous <= 0:
            return remove_query_param(url, "skip")
        return replace_query_param(url, "skip", previous)

    def get_paginated_response(self, data: list[Any]) -> Response:
        """Answer the bare list, with the total and the links in headers."""
        headers = {"X-Total-Count": str(self.count)}
        if link := self.link_header():
            headers["Link"] = link
        return Response(data, headers=headers)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Document the body as the bare list it is."""
        return schema

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        """Document skip and limit with their bounds."""
        return [
            {
                "name": "skip",
                "required": False,
                "in": "query",
                "description": "Number of rows to skip.",
                "schema": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_SKIP,
                    "default": 0,
                },
            },
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": "Number of rows to return.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_limit,
                    "default": 100,
                },
            },
        ]
