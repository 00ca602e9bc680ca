"""Issued refresh tokens."""

from datetime import datetime

from sqlalchemy import select

from app.models import RefreshToken
from app.repositories.base import Repository


class RefreshTokenRepository(Repository):
    """Record, lock and revoke refresh tokens by jti."""

    async def add(self, *, jti: str, user_id: int, expires_at: datetime) -> None:
        """Record an issued refresh token."""
        self.session.add(RefreshToken(jti=jti, user_id=user_id, expires_at=expires_at))
        await self.session.flush()

    async def get_for_update(self, jti: str) -> RefreshToken | None:
        """Return the token's row, locked until the transaction ends."""
        query = select(RefreshToken).where(RefreshToken.jti == jti).with_for_update()
        return await self.session.scalar(query)
