"""Items: each user's own, every one for a superuser."""

from typing import Annotated

from fastapi import Path, Query, Request, Response, status

from app.api.deps import CurrentUser, ItemServiceDep
from app.api.pagination import PageDep, set_list_headers
from app.api.routing import SlashRouter
from app.models import Item
from app.schemas.common import Message, Text
from app.schemas.item import ItemCreate, ItemPublic, ItemUpdate

router = SlashRouter(
    prefix="/items",
    tags=["items"],
    responses={401: {"model": Message, "description": "Not authenticated"}},
)

ItemId = Annotated[int, Path(description="The item's id")]
NOT_FOUND = {404: {"model": Message, "description": "No such item, or another's"}}


@router.get("/", response_model=list[ItemPublic], summary="List items")
async def list_items(
    request: Request,
    response: Response,
    page: PageDep,
    user: CurrentUser,
    items: ItemServiceDep,
    q: Annotated[
        Text | None,
        Query(max_length=255, description="Part of the title, case-insensitive"),
    ] = None,
) -> list[Item]:
    """The caller's items (every item for a superuser), newest first."""
    rows, total = await items.list(user, skip=page.skip, limit=page.limit, q=q)
    set_list_headers(request, response, page, total)
    return rows


@router.post(
    "/",
    response_model=ItemPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an item",
)
async def create_item(
    body: ItemCreate, user: CurrentUser, items: ItemServiceDep
) -> Item:
    """Create an item owned by the caller."""
    return await items.create(body, owner=user)


@router.get(
    "/{item_id:int}",
    response_model=ItemPublic,
    summary="Read an item",
    responses=NOT_FOUND,
)
async def read_item(item_id: ItemId, user: CurrentUser, items: ItemServiceDep) -> Item:
    """Return one of the caller's items (any item for a superuser)."""
    return await items.get(item_id, user)


@router.put(
    "/{item_id:int}",
    response_model=ItemPublic,
    summary="Replace an item",
    responses=NOT_FOUND,
)
async def replace_item(
    item_id: ItemId,
    body: ItemCreate,
    user: CurrentUser,
    items: ItemServiceDep,
) -> Item:
    """Replace an item's title and description."""
    return await items.update(await items.get(item_id, user), body)


@router.patch(
    "/{item_id:int}",
    response_model=ItemPublic,
    summary="Update an item",
    responses=NOT_FOUND,
)
async def update_item(
    item_id: ItemId,
    body: ItemUpdate,
    user: CurrentUser,
    items: ItemServiceDep,
) -> Item:
    """Change the fields sent."""
    return await items.update(await items.get(item_id, user), body)


@router.delete(
    "/{item_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an item",
    responses=NOT_FOUND,
)
async def delete_item(
    item_id: ItemId, user: CurrentUser, items: ItemServiceDep
) -> None:
    """Delete one of the caller's items."""
    await items.delete(await items.get(item_id, user))
