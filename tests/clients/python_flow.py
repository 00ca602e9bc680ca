"""A user's session through the generated Python client only (`make clients` runs it).

Usage: python python_flow.py BASE_URL, with the generated package `client` on the
path. Exits non-zero at the first step that does not do what docs/api.md says.
"""

import secrets
import sys
from http import HTTPStatus

from client import AuthenticatedClient, Client
from client.api.auth import auth_login_create, auth_logout_create, auth_refresh_create
from client.api.health import health_live, health_ready
from client.api.items import (
    items_create,
    items_destroy,
    items_list,
    items_partial_update,
    items_retrieve,
)
from client.api.users import users_create, users_me_retrieve
from client.models import (
    ItemRequest,
    LoginFormRequest,
    PatchedItemRequest,
    RefreshTokenRequest,
    Token,
    UserCreateRequest,
)


def check(condition: bool, what: str) -> None:
    """Fail with what went wrong, or print the step."""
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}", flush=True)


def main(base_url: str) -> None:
    """Register, log in by form, use items, refresh and log out."""
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    check(health_live.sync(client=anonymous).status == "healthy", "GET /health")
    check(health_ready.sync(client=anonymous).status == "ready", "GET /health/ready")

    email = f"client-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(16)
    body = UserCreateRequest(email=email, password=password, full_name="Client")
    user = users_create.sync(client=anonymous, body=body)
    check(user is not None and user.email == email, "register")

    form = LoginFormRequest(username=email, password=password)
    tokens = auth_login_create.sync(client=anonymous, body=form)
    check(isinstance(tokens, Token) and tokens.token_type == "bearer", "log in (form)")

    api = AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True
    )
    item = items_create.sync(client=api, body=ItemRequest(title="From the client"))
    check(item.title == "From the client" and item.owner_id == user.id, "create item")

    listed = items_list.sync_detailed(client=api, limit=10)
    check(
        [i.id for i in listed.parsed] == [item.id]
        and listed.headers["X-Total-Count"] == "1",
        "list items with X-Total-Count",
    )
    changed = items_partial_update.sync(
        client=api, id=item.id, body=PatchedItemRequest(description="changed")
    )
    check(changed.description == "changed", "update item")
    check(items_retrieve.sync(client=api, id=item.id).id == item.id, "read item")
    deleted = items_destroy.sync_detailed(client=api, id=item.id)
    check(deleted.status_code == HTTPStatus.NO_CONTENT, "delete item")
    gone = items_retrieve.sync_detailed(client=api, id=item.id)
    check(gone.status_code == HTTPStatus.NOT_FOUND, "404 after delete")

    check(users_me_retrieve.sync(client=api).email == email, "GET /users/me")
    refreshed = auth_refresh_create.sync(
        client=anonymous, body=RefreshTokenRequest(refresh_token=tokens.refresh_token)
    )
    check(isinstance(refreshed, Token), "refresh")
    logout = auth_logout_create.sync_detailed(
        client=api, body=RefreshTokenRequest(refresh_token=refreshed.refresh_token)
    )
    check(logout.status_code == HTTPStatus.NO_CONTENT, "log out")


if __name__ == "__main__":
    main(sys.argv[1])
