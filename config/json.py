"""JSON rendering and parsing with orjson: several times faster than the json module."""

from typing import Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

_fallback = JSONEncoder().default  # lazy strings, Decimals, querysets and the like


class ORJSONRenderer(BaseRenderer):
    """Render compact UTF-8 JSON."""

    media_type = "application/json"
    format = "json"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        """Serialise data; None (a 204) gives an empty body."""
        if data is None:
            return b""
        return orjson.dumps(data, default=_fallback)


class ORJSONParser(BaseParser):
    """Parse a JSON body; anything that is not valid UTF-8 JSON is a 400."""

    media_type = "application/json"
    renderer_class = ORJSONRenderer

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        """Return the decoded body; orjson refuses nesting deeper than 1,024 levels."""
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
