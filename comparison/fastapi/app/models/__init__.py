"""The models, imported here so that Alembic sees every table."""

from app.models.base import Base
from app.models.item import Item
from app.models.refresh_token import RefreshToken
from app.models.user import User

__all__ = ["Base", "Item", "RefreshToken", "User"]
