"""Queries on items, with the visibility rule in one place."""

from collections.abc import Sequence

from sqlalchemy import Select, func, select

from app.models import Item, User
from app.repositories.base import Repository, valid_id


def visible_to(query: Select[tuple[Item]], user: User) -> Select[tuple[Item]]:
    """Every item for a superuser, else only the user's own."""
    return query if user.is_superuser else query.where(Item.owner_id == user.id)


class ItemRepository(Repository):
    """Find, list, add and delete the items a user may see."""

    async def get_visible(self, item_id: int, user: User) -> Item | None:
        """Return the item if this user may see it, else None (no existence leak)."""
        if not valid_id(item_id):
            return None
        return await self.session.scalar(
            visible_to(select(Item).where(Item.id == item_id), user)
        )

    async def list_visible(
        self, user: User, *, skip: int, limit: int, q: str | None = None
    ) -> tuple[Sequence[Item], int]:
        """Return a page of the user's visible items, newest first, and the total."""
        query = visible_to(select(Item), user)
        if q:
            query = query.where(Item.title.icontains(q, autoescape=True))
        total = await self.session.scalar(
            select(func.count()).select_from(query.subquery())
        )
        rows = await self.session.scalars(
            query.order_by(Item.created_at.desc(), Item.id.desc())
            .offset(skip)
            .limit(limit)
        )
        return rows.all(), total or 0

    async def add(self, item: Item) -> Item:
        """Insert an item (flushed, not committed)."""
        self.session.add(item)
        await self.session.flush()
        return item

    async def delete(self, item: Item) -> None:
        """Delete an item."""
        await self.session.delete(item)
        await self.session.flush()
