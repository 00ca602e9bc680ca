"""Token pairs: issue, rotate, revoke."""

from datetime import UTC, datetime, timedelta

import jwt
from fastapi import status
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.core.exceptions import InvalidRefreshToken, NotAuthorized
from app.core.security import create_token, decode_token
from app.models import User
from app.repositories.refresh_token import RefreshTokenRepository
from app.repositories.user import UserRepository
from app.schemas.token import Token


class AuthService:
    """Issue token pairs and keep the refresh tokens' state in PostgreSQL."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tokens = RefreshTokenRepository(session)
        self.users = UserRepository(session)

    async def issue_pair(self, user: User) -> Token:
        """Return a new access and refresh token, recording the refresh token's jti."""
        settings = get_settings()
        access_lifetime = timedelta(minutes=settings.access_token_minutes)
        access, _, _ = create_token(user.id, "access", access_lifetime)
        refresh, jti, expires = create_token(
            user.id, "refresh", timedelta(days=settings.refresh_token_days)
        )
        await self.tokens.add(jti=jti, user_id=user.id, expires_at=expires)
        await self.session.commit()
        return Token(
            access_token=access,
            refresh_token=refresh,
            expires_in=int(access_lifetime.total_seconds()),
        )

    async def refresh(self, refresh_token: str) -> Token:
        """Rotate: revoke this refresh token and issue a new pair, once per token."""
        try:
            claims = decode_token(refresh_token, "refresh")
        except jwt.InvalidTokenError:
            raise InvalidRefreshToken() from None
        record = await self.tokens.get_for_update(claims["jti"])
        if record is None or record.revoked_at is not None:
            raise InvalidRefreshToken()
        user = await self.users.get(record.user_id)
        if user is None or not user.is_active:
            raise InvalidRefreshToken()
        record.revoked_at = datetime.now(UTC)
        return await self.issue_pair(user)  # commits the revocation with the new jti

    async def revoke(self, refresh_token: str, *, user: User) -> None:
        """Revoke one of the user's refresh tokens; revoking it again is no error."""
        try:
            claims = decode_token(refresh_token, "refresh")
        except jwt.InvalidTokenError:
            raise InvalidRefreshToken(status.HTTP_400_BAD_REQUEST) from None
        record = await self.tokens.get_for_update(claims["jti"])
        if record is None:
            raise InvalidRefreshToken(status.HTTP_400_BAD_REQUEST)
        if record.user_id != user.id:
            raise NotAuthorized("This refresh token belongs to another user")
        if record.revoked_at is None:
            record.revoked_at = datetime.now(UTC)
        await self.session.commit()
