"""Item request and response bodies."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Text, Title


class ItemCreate(BaseModel):
    """A new item (or, for PUT, the whole of one): the owner is the caller."""

    title: Title
    description: Text | None = None


class ItemUpdate(BaseModel):
    """A partial update of an item."""

    title: Title = Field(default=None)  # type: ignore[assignment]
    description: Text | None = None


class ItemPublic(BaseModel):
    """An item as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime
