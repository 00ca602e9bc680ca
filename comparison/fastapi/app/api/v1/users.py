"""Registration and accounts."""

from typing import Annotated

from fastapi import Depends, Path, Request, Response, status

from app.api.deps import CurrentSuperuser, CurrentUser, UserServiceDep
from app.api.pagination import PageDep, set_list_headers
from app.api.routing import SlashRouter
from app.core.exceptions import NotAuthorized
from app.models import User
from app.schemas.common import Message
from app.schemas.user import UserCreate, UserPublic, UserUpdate, UserUpdateAdmin

router = SlashRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(description="The user's id")]
ERRORS = {
    401: {"model": Message, "description": "Not authenticated"},
    403: {"model": Message, "description": "Not allowed"},
    404: {"model": Message, "description": "No such user"},
}


def self_or_superuser(user_id: UserId, user: CurrentUser) -> User:
    """Let a user reach their own record, a superuser any; decided before lookup."""
    if user_id != user.id and not user.is_superuser:
        raise NotAuthorized()
    return user


Caller = Annotated[User, Depends(self_or_superuser)]


@router.post(
    "/",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a user",
    responses={400: {"model": Message, "description": "Email already registered"}},
)
async def register(body: UserCreate, users: UserServiceDep) -> User:
    """Create an account; anyone may."""
    return await users.register(body)


@router.get("/me", response_model=UserPublic, summary="Read the current user")
async def read_me(user: CurrentUser) -> User:
    """Return the authenticated caller."""
    return user


@router.get(
    "/",
    response_model=list[UserPublic],
    summary="List users (superuser)",
    responses=ERRORS,
)
async def list_users(
    request: Request,
    response: Response,
    page: PageDep,
    users: UserServiceDep,
    _: CurrentSuperuser,
) -> list[User]:
    """Every user, by id, a page at a time."""
    rows, total = await users.list(skip=page.skip, limit=page.limit)
    set_list_headers(request, response, page, total)
    return rows


@router.get(
    "/{user_id:int}",
    response_model=UserPublic,
    summary="Read a user (themself or a superuser)",
    responses=ERRORS,
)
async def read_user(user_id: UserId, caller: Caller, users: UserServiceDep) -> User:
    """Return one user; the caller's own record costs no query."""
    return caller if user_id == caller.id else await users.get(user_id)


@router.patch(
    "/{user_id:int}",
    response_model=UserPublic,
    summary="Update a user (themself or a superuser)",
    description="`is_active` and `is_superuser` are applied for superusers only.",
    responses={**ERRORS, 400: {"model": Message, "description": "Email taken"}},
)
async def update_user(
    user_id: UserId,
    body: UserUpdateAdmin,
    caller: Caller,
    users: UserServiceDep,
) -> User:
    """Change a user; a non-superuser's privileged fields are ignored."""
    target = caller if user_id == caller.id else await users.get(user_id)
    changes: UserUpdate = body
    if not caller.is_superuser:
        changes = UserUpdate.model_validate(
            body.model_dump(exclude_unset=True, include=set(UserUpdate.model_fields))
        )
    return await users.update(target, changes)


@router.delete(
    "/{user_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a user (superuser)",
    responses=ERRORS,
)
async def delete_user(
    user_id: UserId, caller: CurrentSuperuser, users: UserServiceDep
) -> None:
    """Delete a user and their items; never one's own account."""
    await users.delete(await users.get(user_id), by=caller)
