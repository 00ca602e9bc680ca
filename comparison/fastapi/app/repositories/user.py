"""Queries on users."""

from collections.abc import Sequence

from sqlalchemy import func, select

from app.models import User
from app.repositories.base import Repository, valid_id


class UserRepository(Repository):
    """Find, list, add and delete users."""

    async def get(self, user_id: int) -> User | None:
        """Return the user with this id, or None."""
        if not valid_id(user_id):
            return None
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        """Return the user with this email, ignoring case, or None."""
        query = select(User).where(func.lower(User.email) == email.lower())
        return await self.session.scalar(query)

    async def list(self, *, skip: int, limit: int) -> tuple[Sequence[User], int]:
        """Return a page of users by id, and how many there are."""
        total = await self.session.scalar(select(func.count()).select_from(User))
        rows = await self.session.scalars(
            select(User).order_by(User.id).offset(skip).limit(limit)
        )
        return rows.all(), total or 0

    async def add(self, user: User) -> User:
        """Insert a user (flushed, not committed)."""
        self.session.add(user)
        await self.session.flush()
        return user

    async def delete(self, user: User) -> None:
        """Delete a user; the database cascades to their items and tokens."""
        await self.session.delete(user)
        await self.session.flush()
