"""Login, refresh and logout."""

import json
from typing import Annotated

from fastapi import Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from app.api.deps import AuthServiceDep, CurrentUser, UserServiceDep
from app.api.routing import SlashRouter
from app.rate_limit import check_login_limits
from app.schemas.common import Message, Text
from app.schemas.token import LoginJSON, RefreshRequest, Token

router = SlashRouter(prefix="/auth", tags=["auth"])

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class LoginForm(BaseModel):
    """The OAuth2 password flow's form: `username` is the email."""

    username: Annotated[Text, Field(max_length=254)]
    password: Annotated[Text, Field(min_length=1, max_length=128)]
    grant_type: Annotated[str | None, Field(pattern="^password$")] = None
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None


def _body_errors(exc: ValidationError) -> RequestValidationError:
    errors = exc.errors(include_url=False, include_context=False)
    return RequestValidationError(
        [{**error, "loc": ("body", *error["loc"])} for error in errors]
    )


async def read_login(request: Request) -> tuple[str, str]:
    """Read the OAuth2 form, or JSON with `username` (or `email`) and `password`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in FORM_TYPES:
            form = LoginForm.model_validate(dict((await request.form()).items()))
            return form.username, form.password
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}]
            ) from None
        data = LoginJSON.model_validate(body)
        return data.login, data.password
    except ValidationError as exc:
        raise _body_errors(exc) from None


LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": LoginForm.model_json_schema()
            },
            "application/json": {"schema": LoginJSON.model_json_schema()},
        },
    }
}


@router.post(
    "/login",
    response_model=Token,
    summary="Log in (OAuth2 password flow)",
    openapi_extra=LOGIN_BODY,
    responses={
        400: {"model": Message, "description": "Inactive user"},
        401: {"model": Message, "description": "Incorrect email or password"},
        422: {"description": "A malformed body (FastAPI's validation error list)"},
        429: {
            "model": Message,
            "description": "Too many tries for this address or user",
        },
        503: {"model": Message, "description": "The rate limit store is down"},
    },
)
async def login(request: Request, users: UserServiceDep, auth: AuthServiceDep) -> Token:
    """Exchange an email and password for an access and a refresh token."""
    username, password = await read_login(request)
    check_login_limits(request, username)
    user = await users.authenticate(username, password)
    return await auth.issue_pair(user)


@router.post(
    "/refresh",
    response_model=Token,
    summary="Refresh the tokens",
    responses={401: {"model": Message, "description": "Invalid or used token"}},
)
async def refresh(body: RefreshRequest, auth: AuthServiceDep) -> Token:
    """Rotate a refresh token: the old one is revoked and a new pair issued."""
    return await auth.refresh(body.refresh_token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Log out",
    responses={
        400: {"model": Message, "description": "Invalid refresh token"},
        401: {"model": Message, "description": "Missing or invalid bearer token"},
        403: {"model": Message, "description": "The refresh token is another user's"},
    },
)
async def logout(body: RefreshRequest, user: CurrentUser, auth: AuthServiceDep) -> None:
    """Revoke the refresh token in the body; revoking it again is a 204 too."""
    await auth.revoke(body.refresh_token, user=user)
