"""The dependencies the routers take: the session, the services and the current user."""

from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.exceptions import NotAuthenticated, NotAuthorized
from app.core.security import decode_token
from app.database import get_session
from app.models import User
from app.repositories.user import UserRepository
from app.services.auth import AuthService
from app.services.item import ItemService
from app.services.user import UserService

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login")

SessionDep = Annotated[AsyncSession, Depends(get_session)]
TokenDep = Annotated[str, Depends(oauth2_scheme)]


def get_user_service(session: SessionDep) -> UserService:
    """The user service on the request's session."""
    return UserService(session)


def get_auth_service(session: SessionDep) -> AuthService:
    """The token service on the request's session."""
    return AuthService(session)


def get_item_service(session: SessionDep) -> ItemService:
    """The item service on the request's session."""
    return ItemService(session)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]


async def get_current_user(
    request: Request, session: SessionDep, token: TokenDep
) -> User:
    """Return the active user of a valid access token, or answer 401."""
    try:
        claims = decode_token(token, "access")
    except jwt.InvalidTokenError:
        raise NotAuthenticated() from None
    user = await UserRepository(session).get(int(claims["sub"]))
    if user is None or not user.is_active:
        raise NotAuthenticated()
    request.state.user_id = user.id  # for the access log line
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_current_superuser(user: CurrentUser) -> User:
    """Return the current user if a superuser, else answer 403."""
    if not user.is_superuser:
        raise NotAuthorized("The user doesn't have enough privileges")
    return user


CurrentSuperuser = Annotated[User, Depends(get_current_superuser)]
