"""The item table: each item belongs to one user."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class Item(TimestampMixin, Base):
    """Something a user owns: a title and an optional description."""

    __tablename__ = "items"
    __table_args__ = (CheckConstraint("title <> ''", name="ck_items_title_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


# The owner's list, newest first, in one index range scan; and every item (superusers).
Index("ix_items_owner_newest", Item.owner_id, Item.created_at.desc(), Item.id.desc())
Index("ix_items_newest", Item.created_at.desc(), Item.id.desc())
