"""The users app's OpenAPI extensions: the bearer scheme and the login body.

drf-spectacular registers an extension when its class is defined, so UsersConfig.ready()
imports this module.
"""

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)

LOGIN_URL = "/api/v1/auth/login"


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    """Document BearerAuthentication as a bearer JWT or the OAuth2 password flow.

    Either scheme sends the same header; the password flow lets Swagger UI's
    Authorize button log in with an email and password.
    """

    target_class = "users.authentication.BearerAuthentication"
    name = ["HTTPBearer", "OAuth2PasswordBearer"]
    priority = 1

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        """Accept either scheme (OR), not both together."""
        return [{"HTTPBearer": []}, {"OAuth2PasswordBearer": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        """Return the bearer scheme and the password flow, in `name` order."""
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from POST /api/v1/auth/login.",
            },
            {
                "type": "oauth2",
                "description": "Log in with your email as the username.",
                "flows": {"password": {"tokenUrl": LOGIN_URL, "scopes": {}}},
            },
        ]


class LoginSerializerScheme(OpenApiSerializerExtension):
    """Document the login body as `username` and `password`, `email` an alias.

    LoginSerializer takes `username` or `email`; an `anyOf` of two `required` lists
    says so exactly, but client generators (openapi-python-client) turn it into
    `Any`. So the schema requires `username`, the name the OAuth2 form uses too, and
    documents `email` as an optional alias.
    """

    target_class = "users.serializers.LoginSerializer"
    match_subclasses = True  # the form's LoginFormSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        """Require `username` and `password`; describe the alias and `grant_type`."""
        schema = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        properties = schema["properties"]
        properties["username"]["description"] = "The account's email."
        properties["email"]["description"] = (
            "An alias of `username` for JSON bodies; `username` wins when both are set."
        )
        properties["grant_type"]["description"] = (
            "Sent by OAuth2 clients; only `password` is accepted."
        )
        schema["required"] = ["username", "password"]
        return schema
