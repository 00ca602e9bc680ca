"""The OpenAPI schema, made true to what the server does.

drf-spectacular describes the happy path of each operation; this module adds the rest
(the users app's extensions are in users/schema.py): the error responses that every
operation can really give (one `ErrorDetail` body, `{"detail": ...}`), the headers of
every response, the text constraints that the serializers enforce beyond lengths, and
the contract's spelling of the paths.
"""

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import Direction
from rest_framework import fields, permissions

from core.fields import C0_CONTROLS, TEXT_CONTROLS, StrictStringMixin

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Permissions that only ask for a login: anything else may answer 403.
LOGIN_ONLY_PERMISSIONS = (permissions.AllowAny, permissions.IsAuthenticated)
# The strings DRF accepts: no NUL character (PostgreSQL text can't hold one), no C0
# control character where core.fields refuses them, and, where blank is refused,
# something left once trimmed (DRF trims, then refuses "").
NUL = r"\x00"
# Where blank is allowed drf-spectacular writes oneOf [pattern, {maxLength: 0}], so
# the pattern must not match "" as well (readable_schema folds the two together).
NON_EMPTY_SUFFIX = "]+$"

ERROR_DETAIL = "ErrorDetail"
VALIDATION_ERROR = "ValidationErrorDetail"
ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    ERROR_DETAIL: {
        "type": "object",
        "description": "Every error that is not about the fields of the request.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "description": (
            "A request that was refused as malformed: `detail` is a message, or an "
            "object that names each offending field (or query parameter) with its "
            "messages."
        ),
        "properties": {
            "detail": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "object", "additionalProperties": {}},
                    {"type": "array", "items": {}},
                ]
            }
        },
        "required": ["detail"],
    },
}


def _header(description: str, schema_type: str = "string") -> dict[str, Any]:
    return {"schema": {"type": schema_type}, "description": description}


# Set by middleware on every response, errors included.
EVERY_RESPONSE_HEADERS = {
    "X-Request-ID": _header(
        "The request's id: the client's X-Request-ID when sane, else a new UUID."
    ),
    "X-Process-Time": _header("Server time for the request, in seconds."),
}
LIST_HEADERS = {
    "X-Total-Count": {
        **_header("Number of rows the filter matches, over all pages.", "integer"),
        "required": True,
    },
    "Link": _header('RFC 8288 links to the `rel="next"` and `rel="prev"` pages.'),
}
RETRY_AFTER = {
    "Retry-After": {
        **_header("Seconds to wait before trying again.", "integer"),
        "required": True,
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {**_header("The scheme to use: `Bearer`."), "required": True}
}
ERROR_HEADERS = {"401": WWW_AUTHENTICATE, "429": RETRY_AFTER, "503": RETRY_AFTER}


def _character_class(characters: str) -> str:
    """Write characters as a regex class body, in ranges: `\\x00-\\x08\\x0b`."""
    codes = sorted(ord(char) for char in characters)
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        rf"\x{first:02x}"
        + (rf"-\x{last:02x}" if last > first + 1 else "")
        + (rf"\x{last:02x}" if last == first + 1 else "")
        for first, last in ranges
    )


def _refused_characters(field: fields.CharField) -> tuple[str, str]:
    """Return the control characters a field refuses, as a regex class and in words."""
    if not isinstance(field, StrictStringMixin):
        return NUL, ""  # DRF refuses NUL in every CharField
    refused = "".join(c for c in C0_CONTROLS if c not in field.allowed_controls)
    if not field.allowed_controls:
        return _character_class(refused), "No control characters (U+0000 to U+001F)."
    if field.allowed_controls == TEXT_CONTROLS:
        return _character_class(refused), (
            "No control characters (U+0000 to U+001F) but tab, line feed and "
            "carriage return."
        )
    return _character_class(refused + "\x00"), ""


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus every error response the operation gives.

    The one place for error responses: a view's @extend_schema names only an error
    that its own code raises and that cannot be read from its attributes here.
    """

    def _map_serializer_field(
        self, field: Any, direction: Direction, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        """Add the text rules DRF enforces on input strings, beyond their lengths."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, fields.CharField)
            and schema.get("type") == "string"
            and not {"format", "pattern", "enum"} & schema.keys()
        ):
            refused, rule = _refused_characters(field)
            if field.allow_blank:
                schema["pattern"] = rf"^[^{refused}]+$"
            elif field.trim_whitespace:
                schema["pattern"] = rf"^[^{refused}]*[^\s{refused}][^{refused}]*$"
                rule = rule and f"Not blank once trimmed. {rule}"
            else:
                schema["pattern"] = rf"^[^{refused}]*$"
            if rule:  # the pattern in words, which ReDoc shows under the field
                schema["description"] = " ".join(
                    filter(None, [schema.get("description"), rule])
                )
        return schema

    def _component(self, name: str) -> dict[str, str]:
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema=ERROR_SCHEMAS[name],
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _error_responses(self) -> dict[str, str]:
        """Return the error status codes this operation can give, with descriptions."""
        view, method = self.view, self.method
        has_body = method in BODY_METHODS
        errors = {}
        if has_body or any(p["in"] == "query" for p in self._get_parameters()):
            errors["400"] = f"Malformed or invalid {'body' if has_body else 'query'}."
        perms = view.get_permissions()
        if not view.get_authenticators():
            # A view that checks credentials itself: a 401 where it names a scheme
            # (DRF turns a 401 without a WWW-Authenticate challenge into a 403).
            if view.get_authenticate_header(view.request):
                errors["401"] = "The credentials or the token in the body are refused."
        elif any(isinstance(p, permissions.AllowAny) for p in perms):
            errors["401"] = "A malformed, expired or revoked token (it is optional)."
        else:
            errors["401"] = "Missing, malformed, expired or revoked access token."
        if view.get_authenticators() and not all(
            isinstance(p, LOGIN_ONLY_PERMISSIONS) for p in perms
        ):
            errors["403"] = "The caller may not do this."
        if "{" in self.path:
            errors["404"] = "No such resource visible to the caller."
        if has_body:
            errors["413"] = "The body is over the size limit."
            errors["415"] = "Unsupported Content-Type."
        if view.get_throttles():
            errors["429"] = "Over the rate limit."
        errors["503"] = "A dependency (the database) is unreachable; retry later."
        return errors

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        """Add the error responses and the response headers to every operation."""
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in self._error_responses().items():
            responses.setdefault(code, {"description": description})
        media_types = self.map_renderers("media_type")
        for code, response in responses.items():
            headers = response.setdefault("headers", {})
            if code.startswith("2") and self._is_list_view():
                headers.update(LIST_HEADERS)
            elif code >= "400" and "content" not in response:
                ref = self._component(
                    VALIDATION_ERROR if code == "400" else ERROR_DETAIL
                )
                response["content"] = {m: {"schema": ref} for m in media_types}
            headers.update(ERROR_HEADERS.get(code, {}))
            headers.update(EVERY_RESPONSE_HEADERS)
        return responses


def _is_collection(path_item: dict[str, Any]) -> bool:
    return any(
        operation.get("operationId", "").endswith("_list")
        for operation in path_item.values()
        if isinstance(operation, dict)
    )


def contract_paths(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Spell paths as the contract does: collections end in `/`, the rest do not.

    The routes take both spellings (`/?`); drf-spectacular writes every one with a
    trailing slash.
    """
    result["paths"] = {
        (
            path
            if _is_collection(item) or not path.endswith("/")
            else re.sub(r"/$", "", path)
        ): item
        for path, item in result["paths"].items()
    }
    return result


HEALTH_HEADERS = {"headers": EVERY_RESPONSE_HEADERS}
HEALTH_PATHS: dict[str, dict[str, Any]] = {
    "/health": {
        "get": {
            "operationId": "health_live",
            "summary": "Liveness",
            "description": "The process answers. Touches no database and no cache; "
            "public, and outside the rate limits.",
            "tags": ["health"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The process is alive.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Health"}
                        }
                    },
                    **HEALTH_HEADERS,
                },
            },
        }
    },
    "/health/ready": {
        "get": {
            "operationId": "health_ready",
            "summary": "Readiness",
            "description": "The database and the cache both answer. Public, and "
            "outside the rate limits.",
            "tags": ["health"],
            "security": [],
            "responses": {
                code: {
                    "description": description,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Readiness"}
                        }
                    },
                    "headers": {
                        **(RETRY_AFTER if code == "503" else {}),
                        **EVERY_RESPONSE_HEADERS,
                    },
                }
                for code, description in (
                    ("200", "The database and the cache answer."),
                    ("503", "The database or the cache does not answer."),
                )
            },
        }
    },
}
HEALTH_SCHEMAS: dict[str, dict[str, Any]] = {
    "Health": {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": ["healthy"]}},
        "required": ["status"],
    },
    "Readiness": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ready", "unavailable"]},
            "checks": {
                "type": "object",
                "description": "`ok`, or `error: <kind>` for each dependency.",
                "properties": {
                    "database": {"type": "string"},
                    "cache": {"type": "string"},
                },
                "required": ["database", "cache"],
            },
        },
        "required": ["status", "checks"],
    },
}


def health_paths(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add /health and /health/ready: plain Django views that DRF does not list."""
    result["paths"] = {**HEALTH_PATHS, **result["paths"]}
    result.setdefault("components", {}).setdefault("schemas", {}).update(HEALTH_SCHEMAS)
    return result


def _is_blank_alternative(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("maxLength") == 0


def _readable(schema: Any) -> Any:
    """Fold `oneOf [text, empty text]` into one string schema, recursively.

    drf-spectacular writes a blank-allowed string with a pattern that way; ReDoc
    then reads "string or string". A pattern that also matches "" says the same.
    """
    if isinstance(schema, list):
        return [_readable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _readable(value) for key, value in schema.items()}
    one_of = schema.get("oneOf")
    if (
        isinstance(one_of, list)
        and len(one_of) == 2
        and _is_blank_alternative(one_of[1])
        and isinstance(one_of[0], dict)
        and one_of[0].get("pattern", "").endswith(NON_EMPTY_SUFFIX)
    ):
        pattern = one_of[0]["pattern"].removesuffix(NON_EMPTY_SUFFIX) + "]*$"
        merged = {**one_of[0], "pattern": pattern}
        if one_of[0].get("nullable") or one_of[1].get("nullable"):
            merged["nullable"] = True
        del schema["oneOf"]
        schema = {**merged, **schema}
    return schema


def readable_schema(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Make the schema read well in ReDoc, and mark response fields always sent.

    A response component (one without the `Request` suffix) lists every property
    it has as required: DRF writes every field that is not write-only, `null` where
    empty, so a generated client need not treat them as optional.
    """
    result = _readable(result)
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") or "properties" not in schema:
            continue
        schema["required"] = sorted(
            key
            for key, value in schema["properties"].items()
            if not value.get("writeOnly")
        )
    return result
