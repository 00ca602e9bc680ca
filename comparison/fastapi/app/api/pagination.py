"""skip/limit query parameters and the X-Total-Count and Link headers of a list."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel

MAX_SKIP = 2**53 - 1


class Page(BaseModel):
    """Which rows of a list to answer."""

    skip: int
    limit: int


def get_page(
    skip: Annotated[int, Query(ge=0, le=MAX_SKIP, description="Rows to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=100, description="Rows to answer")] = 100,
) -> Page:
    """Validate skip (0 or more) and limit (1 to 100)."""
    return Page(skip=skip, limit=limit)


PageDep = Annotated[Page, Depends(get_page)]


def set_list_headers(
    request: Request, response: Response, page: Page, total: int
) -> None:
    """Set X-Total-Count and, where other pages exist, an RFC 8288 Link header."""
    response.headers["X-Total-Count"] = str(total)
    links = []
    if page.skip + page.limit < total:
        url = request.url.include_query_params(
            skip=page.skip + page.limit, limit=page.limit
        )
        links.append(f'<{url}>; rel="next"')
    if page.skip > 0:
        url = request.url.include_query_params(
            skip=max(page.skip - page.limit, 0), limit=page.limit
        )
        links.append(f'<{url}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
