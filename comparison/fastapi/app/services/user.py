"""Registration, updates, deletion and login checks."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.exceptions import (
    EmailAlreadyRegistered,
    InactiveUser,
    IncorrectCredentials,
    NotAuthorized,
    NotFound,
)
from app.core.security import hash_password, verify_password
from app.models import User
from app.repositories.user import UserRepository
from app.schemas.user import UserCreate, UserUpdate


def normalize_email(email: str) -> str:
    """Lower-case the domain, keep the local part, as Django's normalize_email does."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


class UserService:
    """What can happen to an account."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)

    async def register(self, data: UserCreate) -> User:
        """Create an ordinary, active user; the email must be free, in any case."""
        return await self.create(
            email=data.email, password=data.password, full_name=data.full_name
        )

    async def create(
        self,
        *,
        email: str,
        password: str,
        full_name: str | None = None,
        is_superuser: bool = False,
    ) -> User:
        """Create a user with a hashed password."""
        email = normalize_email(email)
        if await self.users.get_by_email(email) is not None:
            raise EmailAlreadyRegistered()
        user = User(
            email=email,
            hashed_password=await hash_password(password),
            full_name=full_name,
            is_superuser=is_superuser,
        )
        try:
            await self.users.add(user)
            await self.session.commit()
        except IntegrityError:  # a concurrent registration won the race
            await self.session.rollback()
            raise EmailAlreadyRegistered() from None
        return user

    async def get(self, user_id: int) -> User:
        """Return the user with this id, or raise NotFound."""
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        return user

    async def list(self, *, skip: int, limit: int) -> tuple[list[User], int]:
        """Return a page of users by id, and the total."""
        rows, total = await self.users.list(skip=skip, limit=limit)
        return list(rows), total

    async def update(self, user: User, data: UserUpdate) -> User:
        """Apply the fields that were sent; the schema decides which may be."""
        changes = data.model_dump(exclude_unset=True)
        if "email" in changes:
            changes["email"] = normalize_email(changes["email"])
            other = await self.users.get_by_email(changes["email"])
            if other is not None and other.id != user.id:
                raise EmailAlreadyRegistered()
        if "password" in changes:
            user.hashed_password = await hash_password(changes.pop("password"))
        for field, value in changes.items():
            setattr(user, field, value)
        try:
            await self.session.commit()
        except IntegrityError:
            await self.session.rollback()
            raise EmailAlreadyRegistered() from None
        return user

    async def delete(self, user: User, *, by: User) -> None:
        """Delete a user and, by cascade, their items; never one's own account."""
        if user.id == by.id:
            raise NotAuthorized("Super users are not allowed to delete themselves")
        await self.users.delete(user)
        await self.session.commit()

    async def authenticate(self, email: str, password: str) -> User:
        """Return the user these credentials name, or raise one credentials error."""
        user = await self.users.get_by_email(normalize_email(email))
        if not await verify_password(password, user.hashed_password if user else None):
            raise IncorrectCredentials()
        assert user is not None  # verify_password fails without a hash
        if not user.is_active:
            raise InactiveUser()
        return user
