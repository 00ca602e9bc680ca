"""Login and token bodies."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.schemas.common import Text

TokenString = Annotated[Text, StringConstraints(min_length=1, max_length=4096)]


class LoginJSON(BaseModel):
    """The JSON login: `username` (or `email`) and `password`."""

    username: Annotated[Text, StringConstraints(max_length=254)] | None = None
    email: Annotated[Text, StringConstraints(max_length=254)] | None = None
    password: Annotated[Text, StringConstraints(min_length=1, max_length=128)]

    @model_validator(mode="after")
    def _needs_a_login(self) -> "LoginJSON":
        """Require `username` or its alias `email`."""
        if not (self.username or self.email):
            raise ValueError("username (or email) is required")
        return self

    @property
    def login(self) -> str:
        """The email to log in with; `username` wins when both are sent."""
        return self.username or self.email or ""


class Token(BaseModel):
    """A token pair, as the OAuth2 password flow answers it."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token lives")


class RefreshRequest(BaseModel):
    """A refresh token, to rotate or to revoke."""

    refresh_token: TokenString
