"""Contract: Items, `/api/v1/items/`."""

import uuid

import httpx
import pytest

from tests.contract.helpers import (
    API,
    ITEM_KEYS,
    assert_bearer_challenge,
    assert_validation_error,
    create_item,
    error_detail,
    is_json,
    is_timestamp,
)

MISSING_ID = 2**31 - 1


def assert_item(body: dict) -> None:
    """Check the item representation: its keys and types."""
    assert set(body) == ITEM_KEYS, body
    for key in ("id", "owner_id"):
        assert isinstance(body[key], int)
        assert not isinstance(body[key], bool)
    assert isinstance(body["title"], str)
    assert body["description"] is None or isinstance(body["description"], str)
    assert is_timestamp(body["created_at"]), body["created_at"]
    assert is_timestamp(body["updated_at"]), body["updated_at"]


def tag() -> str:
    """Return a word no other test puts in a title."""
    return uuid.uuid4().hex[:12]


def test_create_an_item(user) -> None:
    """`POST /items/` | 201 item. Item representation: `{"id", "title",
    "description", "owner_id", "created_at", "updated_at"}`."""
    response = user.client.post(
        f"{API}/items/", json={"title": "A title", "description": "Some text"}
    )

    assert response.status_code == 201, response.text
    assert is_json(response)
    body = response.json()
    assert_item(body)
    assert body["title"] == "A title"
    assert body["description"] == "Some text"
    assert body["owner_id"] == user.id


@pytest.mark.parametrize("description", [None, "omitted"])
def test_description_may_be_null(user, description) -> None:
    """`description` text or null."""
    body = {"title": "No description"}
    if description != "omitted":
        body["description"] = description

    response = user.client.post(f"{API}/items/", json=body)

    assert response.status_code == 201, response.text
    assert response.json()["description"] is None


def test_the_owner_is_the_caller_whatever_the_body_says(
    user, other_user, observe
) -> None:
    """`POST /items/` | 201 item | owner is the caller, whatever the body says."""
    response = user.client.post(
        f"{API}/items/", json={"title": "Mine", "owner_id": other_user.id}
    )

    assert response.status_code == 201, response.text
    assert response.json()["owner_id"] == user.id
    listed = other_user.client.get(f"{API}/items/").json()
    assert response.json()["id"] not in [item["id"] for item in listed]


@pytest.mark.parametrize("length", [1, 255])
def test_titles_of_1_to_255_characters(user, length: int) -> None:
    """`title` 1 to 255 characters."""
    response = user.client.post(f"{API}/items/", json={"title": "t" * length})

    assert response.status_code == 201, response.text
    assert response.json()["title"] == "t" * length


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "t" * 256}, {}, {"title": None}, {"title": ["a"]}],
    ids=["empty", "256-characters", "missing", "null", "list"],
)
def test_a_bad_title_names_the_field(user, body: dict, observe) -> None:
    """`title` 1 to 255 characters. Validation errors: 400 or 422, and the body names
    each offending field."""
    response = user.client.post(f"{API}/items/", json=body)

    assert_validation_error(response, "title", observe)
    assert user.client.get(f"{API}/items/").headers["x-total-count"] == "0"


def test_a_user_sees_only_their_own_items(user, other_user) -> None:
    """`GET /items/` | 200 JSON list | a user sees their own items."""
    mine = create_item(user)
    create_item(other_user)

    response = user.client.get(f"{API}/items/")

    assert response.status_code == 200
    items = response.json()
    assert [item["id"] for item in items] == [mine["id"]]
    assert_item(items[0])
    assert response.headers["x-total-count"] == "1"


def test_a_superuser_sees_every_item(admin, user, other_user) -> None:
    """`GET /items/` | ... a superuser sees all."""
    word = tag()
    ids = {create_item(user, title=f"{word} a")["id"]}
    ids.add(create_item(other_user, title=f"{word} b")["id"])

    response = admin.client.get(f"{API}/items/", params={"q": word})

    assert response.status_code == 200
    assert {item["id"] for item in response.json()} == ids


def test_items_are_listed_newest_first(user) -> None:
    """`GET /items/?skip=0&limit=100` | 200 JSON list, newest first."""
    made = [create_item(user, title=f"n{n}") for n in range(3)]

    response = user.client.get(f"{API}/items/")

    listed = response.json()
    assert [item["id"] for item in listed] == [item["id"] for item in reversed(made)]
    stamps = [item["created_at"] for item in listed]
    assert stamps == sorted(stamps, reverse=True)


def test_q_filters_titles_case_insensitively(user) -> None:
    """Optional `q` filters by title, case-insensitive."""
    word = tag()
    wanted = create_item(user, title=f"Buy {word.upper()} milk")
    create_item(user, title="Something else")

    response = user.client.get(f"{API}/items/", params={"q": word.lower()})

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [wanted["id"]]
    assert response.headers["x-total-count"] == "1"


def test_q_does_not_widen_visibility(user, other_user) -> None:
    """A user sees their own items; optional `q` filters by title."""
    word = tag()
    create_item(other_user, title=word)

    response = user.client.get(f"{API}/items/", params={"q": word})

    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["x-total-count"] == "0"


def test_get_an_item(user) -> None:
    """`GET /items/{id}` | 200 item."""
    item = create_item(user, description="d")

    response = user.client.get(f"{API}/items/{item['id']}")

    assert response.status_code == 200
    assert response.json() == item


def test_another_users_item_is_a_404_like_a_missing_one(user, other_user) -> None:
    """`GET /items/{id}` | 404 for a missing id **and** for another user's item (no
    existence leak)."""
    theirs = create_item(other_user)

    other = user.client.get(f"{API}/items/{theirs['id']}")
    missing = user.client.get(f"{API}/items/{MISSING_ID}")

    assert other.status_code == 404
    assert missing.status_code == 404
    assert other.json() == missing.json()
    error_detail(other)


def test_a_superuser_reaches_every_item(admin, user) -> None:
    """`GET /items/{id}` ... a superuser reaches every item; `PUT`/`PATCH`/`DELETE`
    same visibility as GET."""
    item = create_item(user)

    read = admin.client.get(f"{API}/items/{item['id']}")
    patched = admin.client.patch(f"{API}/items/{item['id']}", json={"title": "By su"})
    deleted = admin.client.delete(f"{API}/items/{item['id']}")

    assert read.status_code == 200
    assert patched.status_code == 200
    assert patched.json()["owner_id"] == user.id
    assert deleted.status_code == 204
    assert user.client.get(f"{API}/items/{item['id']}").status_code == 404


def test_put_replaces_the_item(user) -> None:
    """`PUT /items/{id}` | 200 item."""
    item = create_item(user, title="Old", description="Old text")

    response = user.client.put(
        f"{API}/items/{item['id']}", json={"title": "New", "description": "New text"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert_item(body)
    assert (body["title"], body["description"]) == ("New", "New text")
    assert body["id"] == item["id"]
    assert body["created_at"] == item["created_at"]
    assert user.client.get(f"{API}/items/{item['id']}").json() == body


def test_patch_changes_only_what_it_names(user) -> None:
    """`PATCH /items/{id}` | 200 item."""
    item = create_item(user, title="Old", description="Kept")

    response = user.client.patch(f"{API}/items/{item['id']}", json={"title": "New"})

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "New"
    assert response.json()["description"] == "Kept"


def test_patch_cannot_move_an_item_to_another_owner(user, other_user) -> None:
    """`POST /items/` ... owner is the caller, whatever the body says (an update
    keeps the owner)."""
    item = create_item(user)

    response = user.client.patch(
        f"{API}/items/{item['id']}", json={"owner_id": other_user.id}
    )

    assert response.status_code in (200, 400, 422)
    assert user.client.get(f"{API}/items/{item['id']}").json()["owner_id"] == user.id


def test_a_bad_update_names_the_field(user, observe) -> None:
    """`PUT /items/{id}` / `PATCH /items/{id}` ... `title` 1 to 255 characters."""
    item = create_item(user, title="Kept")

    patch = user.client.patch(f"{API}/items/{item['id']}", json={"title": ""})
    put = user.client.put(f"{API}/items/{item['id']}", json={"title": "t" * 256})

    assert_validation_error(patch, "title", observe, key="patch")
    assert_validation_error(put, "title", observe, key="put")
    assert user.client.get(f"{API}/items/{item['id']}").json()["title"] == "Kept"


def test_delete_an_item(user) -> None:
    """`DELETE /items/{id}` | 204."""
    item = create_item(user)

    response = user.client.delete(f"{API}/items/{item['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert user.client.get(f"{API}/items/{item['id']}").status_code == 404
    assert user.client.delete(f"{API}/items/{item['id']}").status_code == 404


def test_others_items_cannot_be_changed_or_deleted(user, other_user) -> None:
    """`PUT`/`PATCH`/`DELETE /items/{id}` | same visibility as GET (404 for another
    user's item)."""
    theirs = create_item(other_user, title="Theirs")
    path = f"{API}/items/{theirs['id']}"

    put = user.client.put(path, json={"title": "Taken", "description": None})
    patch = user.client.patch(path, json={"title": "Taken"})
    delete = user.client.delete(path)

    assert [put.status_code, patch.status_code, delete.status_code] == [404] * 3
    assert other_user.client.get(path).json()["title"] == "Theirs"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/items/"),
        ("POST", "/api/v1/items/"),
        ("GET", "/api/v1/items/1"),
        ("PUT", "/api/v1/items/1"),
        ("PATCH", "/api/v1/items/1"),
        ("DELETE", "/api/v1/items/1"),
    ],
)
def test_every_item_endpoint_needs_authentication(
    client: httpx.Client, method: str, path: str
) -> None:
    """All item endpoints need authentication (401 otherwise)."""
    body = None if method in ("GET", "DELETE") else {"title": "x"}

    response = client.request(method, path, json=body)

    assert_bearer_challenge(response)
