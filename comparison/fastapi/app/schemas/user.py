"""User request and response bodies."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.schemas.common import FullName, Password

Email = Annotated[EmailStr, StringConstraints(max_length=254)]


class UserCreate(BaseModel):
    """Registration: an email, a password of 8+ characters and an optional name."""

    email: Email
    password: Password
    full_name: FullName | None = None


class UserUpdate(BaseModel):
    """What a user may change on their own record; every field is optional."""

    # A default of None that is not a valid value: an explicit null is a 422.
    email: Email = Field(default=None)  # type: ignore[assignment]
    full_name: FullName | None = None
    password: Password = Field(default=None)  # type: ignore[assignment]


class UserUpdateAdmin(UserUpdate):
    """A superuser's update: `is_active` and `is_superuser` too."""

    is_active: bool = Field(default=None)  # type: ignore[assignment]
    is_superuser: bool = Field(default=None)  # type: ignore[assignment]


class UserPublic(BaseModel):
    """A user as the API shows it: never the password or its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime
