"""Types shared by the schemas."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, StringConstraints


def _reject_nul(value: str) -> str:
    """Refuse a NUL character, which PostgreSQL cannot store in text."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


# A string PostgreSQL can store: any text but NUL.
Text = Annotated[str, AfterValidator(_reject_nul)]
Title = Annotated[Text, StringConstraints(min_length=1, max_length=255)]
FullName = Annotated[Text, StringConstraints(max_length=255)]
Password = Annotated[Text, StringConstraints(min_length=8, max_length=128)]


class Message(BaseModel):
    """An error or a notice: `{"detail": "..."}`."""

    detail: str
