"""Items: the caller's own, or every one for a superuser."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.exceptions import NotFound
from app.models import Item, User
from app.repositories.item import ItemRepository
from app.schemas.item import ItemCreate, ItemUpdate


class ItemService:
    """List, create, read, update and delete the items a user may see."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.items = ItemRepository(session)

    async def list(
        self, user: User, *, skip: int, limit: int, q: str | None
    ) -> tuple[list[Item], int]:
        """Return a page of visible items, newest first, and the total."""
        rows, total = await self.items.list_visible(user, skip=skip, limit=limit, q=q)
        return list(rows), total

    async def get(self, item_id: int, user: User) -> Item:
        """Return a visible item, or raise NotFound (another user's item too)."""
        item = await self.items.get_visible(item_id, user)
        if item is None:
            raise NotFound("Item not found")
        return item

    async def create(self, data: ItemCreate, *, owner: User) -> Item:
        """Create an item owned by the caller, whatever the body says."""
        item = Item(title=data.title, description=data.description, owner_id=owner.id)
        await self.items.add(item)
        await self.session.commit()
        return item

    async def update(self, item: Item, data: ItemCreate | ItemUpdate) -> Item:
        """Apply an update: all fields for PUT, the fields sent for PATCH."""
        exclude_unset = isinstance(data, ItemUpdate)
        for field, value in data.model_dump(exclude_unset=exclude_unset).items():
            setattr(item, field, value)
        await self.session.commit()
        return item

    async def delete(self, item: Item) -> None:
        """Delete an item."""
        await self.items.delete(item)
        await self.session.commit()
