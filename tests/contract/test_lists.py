"""Contract: Lists (`skip`, `limit`, `X-Total-Count`, `Link`)."""

import uuid
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from tests.contract.helpers import (
    API,
    assert_validation_error,
    create_item,
    is_json,
    link_relations,
)


def query(url: str) -> dict[str, str]:
    """Return the single-valued query parameters of a URL."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def five_items(user) -> list[dict]:
    """Five items of `user`, oldest first."""
    return [create_item(user, title=f"page {n}") for n in range(5)]


def test_defaults_are_skip_0_and_limit_100(user, five_items) -> None:
    """`skip` (default 0, at least 0) and `limit` (default 100, 1 to 100) on every
    list. The body is a bare JSON list."""
    response = user.client.get(f"{API}/items/")

    assert response.status_code == 200
    assert is_json(response)
    assert isinstance(response.json(), list)
    assert len(response.json()) == 5
    assert response.headers["x-total-count"] == "5"


def test_skip_and_limit_page_through_the_list(user, five_items) -> None:
    """`skip` ... and `limit` ... on every list; `X-Total-Count` (the number of rows
    the filter matches)."""
    newest_first = [item["id"] for item in reversed(five_items)]

    pages = [
        user.client.get(f"{API}/items/", params={"skip": skip, "limit": 2})
        for skip in (0, 2, 4)
    ]

    assert [[item["id"] for item in page.json()] for page in pages] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:5],
    ]
    assert {page.headers["x-total-count"] for page in pages} == {"5"}


def test_link_has_next_and_prev_where_they_exist(user, five_items) -> None:
    """An RFC 8288 `Link` header with `next`/`prev` where they exist."""
    first = user.client.get(f"{API}/items/", params={"skip": 0, "limit": 2})
    middle = user.client.get(f"{API}/items/", params={"skip": 2, "limit": 2})
    last = user.client.get(f"{API}/items/", params={"skip": 4, "limit": 2})

    assert set(link_relations(first)) & {"next", "prev"} == {"next"}
    assert set(link_relations(middle)) & {"next", "prev"} == {"next", "prev"}
    assert set(link_relations(last)) & {"next", "prev"} == {"prev"}
    assert query(link_relations(first)["next"])["skip"] == "2"
    assert int(query(link_relations(middle)["prev"]).get("skip", "0")) == 0


def test_following_next_walks_the_whole_filtered_list(user) -> None:
    """`X-Total-Count` (the number of rows the filter matches) and an RFC 8288 `Link`
    header with `next` (the filter kept)."""
    word = uuid.uuid4().hex[:10]
    wanted = {create_item(user, title=f"{word} {n}")["id"] for n in range(3)}
    create_item(user, title="not this one")

    seen, pages = [], 0
    url: str | None = f"{API}/items/?q={word}&limit=1"
    while url and pages < 10:
        response = user.client.get(url)
        assert response.status_code == 200
        assert response.headers["x-total-count"] == "3"
        seen += [item["id"] for item in response.json()]
        url = link_relations(response).get("next")
        url = urljoin(str(response.url), url) if url else None
        pages += 1

    assert sorted(seen) == sorted(wanted)


def test_a_single_page_has_no_next_or_prev(user, five_items) -> None:
    """`Link` ... with `next`/`prev` where they exist."""
    response = user.client.get(f"{API}/items/")

    assert not set(link_relations(response)) & {"next", "prev"}


def test_an_empty_list_counts_zero(user) -> None:
    """`X-Total-Count` (the number of rows the filter matches)."""
    response = user.client.get(f"{API}/items/", params={"q": uuid.uuid4().hex})

    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["x-total-count"] == "0"


def test_the_users_list_has_the_same_headers(admin) -> None:
    """`skip` ... and `limit` ... on every list; `X-Total-Count`; `Link`."""
    response = admin.client.get(f"{API}/users/", params={"limit": 1})

    assert response.status_code == 200
    assert len(response.json()) == 1
    total = int(response.headers["x-total-count"])
    assert total >= 1
    if total > 1:
        assert "next" in link_relations(response)


def test_limit_100_is_allowed(user) -> None:
    """`limit` (default 100, 1 to 100)."""
    response = user.client.get(f"{API}/items/", params={"limit": 100, "skip": 0})

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/items/", "/api/v1/users/"])
@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"skip": -1}, "skip"),
        ({"skip": "abc"}, "skip"),
        ({"skip": "1.5"}, "skip"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": ""}, "limit"),
    ],
    ids=[
        "skip-negative",
        "skip-text",
        "skip-fraction",
        "limit-0",
        "limit-101",
        "limit-negative",
        "limit-text",
        "limit-empty",
    ],
)
def test_an_out_of_range_parameter_is_a_validation_error(
    admin, path: str, params: dict, name: str, observe
) -> None:
    """An out-of-range `skip`/`limit` is a 400/422 naming the parameter, never a
    500."""
    response = admin.client.get(path, params=params)

    assert_validation_error(response, name, observe)


@pytest.mark.parametrize("skip", [10**6, 2**63, 10**30])
def test_a_huge_skip_is_never_a_500(user, skip: int, observe) -> None:
    """`skip` (default 0, at least 0) ... never a 500."""
    response = user.client.get(f"{API}/items/", params={"skip": skip})

    observe("huge skip status", response.status_code)
    if response.status_code == 200:
        assert response.json() == []
    else:
        assert_validation_error(response, "skip", observe)
