"""Create the first superuser from FIRST_SUPERUSER_EMAIL/_PASSWORD, if missing."""

import asyncio

from app.config import get_settings
from app.database import SessionLocal, engine
from app.repositories.user import UserRepository
from app.services.user import UserService


async def ensure_first_superuser() -> str:
    """Create the superuser unless that email exists; say what happened."""
    settings = get_settings()
    email, password = settings.first_superuser_email, settings.first_superuser_password
    if not email or not password:
        return "FIRST_SUPERUSER_EMAIL or FIRST_SUPERUSER_PASSWORD unset: no superuser"
    async with SessionLocal() as session:
        if await UserRepository(session).get_by_email(email) is not None:
            return f"superuser {email} exists"
        await UserService(session).create(
            email=email, password=password, is_superuser=True
        )
    await engine.dispose()
    return f"created superuser {email}"


if __name__ == "__main__":
    print(asyncio.run(ensure_first_superuser()))
