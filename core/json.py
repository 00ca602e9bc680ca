"""JSON rendering and parsing with orjson: several times faster than the json module."""

from typing import Any

import orjson
from django.http import HttpRequest
from django.http.request import RawPostDataException
from django.utils.datastructures import MultiValueDict
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
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


EMPTY_BODY_ERROR = "JSON parse error - the body is empty."


class JSONRequest(Request):
    """DRF's Request, except that an empty body sent as JSON is malformed, not {}.

    DRF skips the parser when Content-Length is 0 and hands the view `{}`, so an
    empty `PATCH` passed as a valid update of nothing.
    """

    def _parse(self) -> tuple[Any, Any]:
        """Refuse an empty body with a Content-Type: malformed JSON, or not parsed."""
        try:
            empty = self.stream is None
        except RawPostDataException:  # a form already read by Django
            empty = False
        if empty and self.content_type:
            parser = self.negotiator.select_parser(self, self.parsers)
            if parser is None or isinstance(parser, ORJSONParser):
                # As DRF does after a parse error: later reads get no data, not
                # this error again.
                self._data = self._full_data = {}
                self._files = MultiValueDict()
                if parser is None:
                    raise UnsupportedMediaType(self.content_type)
                raise ParseError(EMPTY_BODY_ERROR)
        return super()._parse()


class JSONRequestMixin:
    """Give a view a JSONRequest: an empty JSON body is a 400, never `{}`."""

    def initialize_request(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> Request:
        """Build the view's Request (a viewset sets its action), as a JSONRequest."""
        built = super().initialize_request(request, *args, **kwargs)  # type: ignore[misc]
        return JSONRequest(
            request,
            parsers=built.parsers,
            authenticators=built.authenticators,
            negotiator=built.negotiator,
            parser_context=built.parser_context,
        )
