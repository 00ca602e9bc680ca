"""Lists: skip/limit, a bare JSON list, X-Total-Count, Link; constant query counts."""

import re
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from items.models import Item
from tests.factories import ItemFactory, UserFactory
from tests.support.http import bearer
from users.models import User

LINK = re.compile(r'<([^>]*)>; rel="(next|prev)"')


def links(response) -> dict[str, str]:
    """Parse an RFC 8288 Link header into {rel: url}."""
    return {rel: url for url, rel in LINK.findall(response.get("Link", ""))}


def query_of(url: str) -> dict[str, str]:
    """Return the query parameters of a URL, one value each."""
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


# Shape ------------------------------------------------------------------------


def test_list_is_a_bare_json_list_with_total_count(user_client, user):
    ItemFactory.create_batch(3, owner=user)

    response = user_client.get("/api/v1/items/")

    assert isinstance(response.json(), list)
    assert response["X-Total-Count"] == "3"
    assert "Link" not in response


def test_empty_list(user_client):
    response = user_client.get("/api/v1/items/")

    assert response.json() == []
    assert response["X-Total-Count"] == "0"


def test_default_limit_is_100(user_client, user):
    ItemFactory.create_batch(101, owner=user)

    response = user_client.get("/api/v1/items/")

    assert len(response.json()) == 100
    assert response["X-Total-Count"] == "101"
    assert query_of(links(response)["next"]) == {"limit": "100", "skip": "100"}


def test_skip_and_limit_select_a_page_with_next_and_prev(user_client, user):
    items = list(reversed(ItemFactory.create_batch(7, owner=user)))  # newest first

    response = user_client.get("/api/v1/items/", {"skip": 2, "limit": 3})

    assert [row["id"] for row in response.json()] == [i.pk for i in items[2:5]]
    assert response["X-Total-Count"] == "7"
    page_links = links(response)
    assert query_of(page_links["next"]) == {"skip": "5", "limit": "3"}
    assert query_of(page_links["prev"]) == {"limit": "3"}  # skip=0, left out
    assert page_links["next"].startswith("http://testserver/api/v1/items/")


def test_links_keep_the_filter(user_client, user):
    ItemFactory.create_batch(3, owner=user, title="match")

    response = user_client.get("/api/v1/items/", {"q": "match", "limit": 1, "skip": 1})

    assert query_of(links(response)["next"])["q"] == "match"
    assert query_of(links(response)["prev"])["q"] == "match"


def test_last_page_has_prev_but_no_next(user_client, user):
    ItemFactory.create_batch(4, owner=user)

    response = user_client.get("/api/v1/items/", {"skip": 2, "limit": 2})

    assert set(links(response)) == {"prev"}


def test_skip_past_the_end_is_an_empty_page_with_the_total(user_client, user):
    ItemFactory.create_batch(2, owner=user)

    response = user_client.get("/api/v1/items/", {"skip": 50})

    assert response.status_code == HTTPStatus.OK
    assert response.json() == []
    assert response["X-Total-Count"] == "2"
    assert "next" not in links(response)


def test_users_list_is_paginated_the_same_way(superuser_client):
    UserFactory.create_batch(4)

    response = superuser_client.get("/api/v1/users/", {"skip": 1, "limit": 2})

    assert len(response.json()) == 2
    assert response["X-Total-Count"] == "5"
    assert set(links(response)) == {"next", "prev"}


# Bounds -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": "1_0"}, "limit"),
        ({"limit": " 5"}, "limit"),
        ({"limit": "５"}, "limit"),
        ({"limit": "9" * 5000}, "limit"),
        ({"skip": -1}, "skip"),
        ({"skip": "x"}, "skip"),
        ({"skip": "1e3"}, "skip"),
        ({"skip": 2**53}, "skip"),
        ({"skip": "9" * 5000}, "skip"),
        ({"skip": "\x00"}, "skip"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/items/", "/api/v1/users/"])
def test_out_of_range_skip_or_limit_is_400_naming_it(
    superuser_client, path, params, name
):
    response = superuser_client.get(path, params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["detail"]) == [name]


@pytest.mark.parametrize(("skip", "limit"), [(0, 1), (0, 100), (2**53 - 1, 100)])
def test_extreme_but_valid_skip_and_limit_are_accepted(user_client, skip, limit):
    response = user_client.get("/api/v1/items/", {"skip": skip, "limit": limit})

    assert response.status_code == HTTPStatus.OK


# Every row exactly once ---------------------------------------------------------


@pytest.mark.django_db
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.integers(min_value=0, max_value=23),
    limit=st.integers(min_value=1, max_value=10),
    same_time=st.booleans(),
)
def test_pages_cover_every_row_exactly_once_in_order(rows, limit, same_time):
    # Each example starts from empty tables: the fixture's transaction is shared.
    Item.objects.all().delete()
    User.objects.all().delete()
    owner = UserFactory.create()
    ItemFactory.create_batch(rows, owner=owner)
    ItemFactory.create_batch(2)  # someone else's, never listed
    if same_time:  # ties on created_at: the id must still order the pages
        Item.objects.update(created_at=Item.objects.earliest("created_at").created_at)
    client = bearer(APIClient(), owner)
    expected = list(
        Item.objects.filter(owner=owner)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
    )

    by_skip: list[int] = []
    for skip in range(0, rows + limit, limit):
        response = client.get("/api/v1/items/", {"skip": skip, "limit": limit})
        assert response["X-Total-Count"] == str(rows)
        by_skip += [row["id"] for row in response.json()]
    by_link: list[int] = []
    url: str | None = f"/api/v1/items/?limit={limit}"
    while url:
        response = client.get(url)
        by_link += [row["id"] for row in response.json()]
        url = links(response).get("next")

    assert by_skip == expected
    assert by_link == expected


# Query counts: constant in the number of rows ----------------------------------
# Each count includes the one query that loads the token's user.


@pytest.mark.parametrize("rows", [1, 30])
def test_item_list_query_count_does_not_grow_with_rows(
    user_client, user, rows, django_assert_num_queries
):
    ItemFactory.create_batch(rows, owner=user)

    with django_assert_num_queries(3):  # user, count, page
        response = user_client.get("/api/v1/items/", {"q": ""})

    assert len(response.json()) == rows


@pytest.mark.parametrize("rows", [1, 30])
def test_superuser_item_list_query_count_does_not_grow_with_rows(
    superuser_client, rows, django_assert_num_queries
):
    ItemFactory.create_batch(rows)

    with django_assert_num_queries(3):  # user, count, page
        response = superuser_client.get("/api/v1/items/")

    assert len(response.json()) == rows


@pytest.mark.parametrize("rows", [1, 30])
def test_user_list_query_count_does_not_grow_with_rows(
    superuser_client, rows, django_assert_num_queries
):
    users = UserFactory.create_batch(rows)
    for user in users:
        ItemFactory.create_batch(2, owner=user)

    with django_assert_num_queries(3):  # user, count, page
        response = superuser_client.get("/api/v1/users/")

    assert len(response.json()) == rows + 1


def test_empty_page_past_the_end_skips_the_page_query(
    user_client, django_assert_num_queries
):
    with django_assert_num_queries(2):  # user, count
        user_client.get("/api/v1/items/", {"skip": 10})


def test_bad_skip_is_refused_before_any_list_query(
    user_client, django_assert_num_queries
):
    with django_assert_num_queries(1):  # user
        response = user_client.get("/api/v1/items/", {"skip": -1})

    assert response.status_code == HTTPStatus.BAD_REQUEST


# Query counts of the other endpoints -----------------------------------------


def test_me_costs_one_query(user_client, django_assert_num_queries):
    with django_assert_num_queries(1):  # user
        assert user_client.get("/api/v1/users/me").status_code == HTTPStatus.OK


def test_reading_yourself_costs_one_query(user_client, user, django_assert_num_queries):
    with django_assert_num_queries(1):  # user (it is the record asked for)
        response = user_client.get(f"/api/v1/users/{user.pk}")

    assert response.json()["id"] == user.pk


def test_superuser_reading_a_user_costs_two_queries(
    superuser_client, django_assert_num_queries
):
    other = UserFactory.create()

    with django_assert_num_queries(2):  # user, lookup
        superuser_client.get(f"/api/v1/users/{other.pk}")


@pytest.mark.django_db
def test_registration_queries(api_client, django_assert_num_queries):
    with django_assert_num_queries(4):  # email check, savepoint, insert, release
        response = api_client.post(
            "/api/v1/users/",
            {"email": "q@example.com", "password": "long enough"},
            format="json",
        )

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.parametrize(
    ("body", "queries"),
    [
        ({"full_name": "N"}, 4),  # user, savepoint, update, release
        ({"email": "e@example.com"}, 5),  # + the email check
        # + revoking refresh tokens and cutting off access tokens, under a lock on
        # the user row (atomic block)
        ({"password": "long enough 2"}, 10),
    ],
)
def test_patching_yourself_queries(
    user_client, user, body, queries, django_assert_num_queries
):
    with django_assert_num_queries(queries):
        response = user_client.patch(f"/api/v1/users/{user.pk}", body, format="json")

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("items", [0, 25])
def test_deleting_a_user_costs_the_same_whatever_they_own(
    superuser_client, items, django_assert_num_queries
):
    other = UserFactory.create()
    ItemFactory.create_batch(items, owner=other)

    # user, lookup, then one statement per related table and the delete itself
    with django_assert_num_queries(8):
        response = superuser_client.delete(f"/api/v1/users/{other.pk}")

    assert response.status_code == HTTPStatus.NO_CONTENT


def test_item_endpoint_queries(user_client, user, django_assert_num_queries):
    with django_assert_num_queries(2):  # user, insert
        created = user_client.post("/api/v1/items/", {"title": "t"}, format="json")
    path = f"/api/v1/items/{created.json()['id']}"
    with django_assert_num_queries(2):  # user, lookup
        user_client.get(path)
    with django_assert_num_queries(3):  # user, lookup, update
        user_client.put(path, {"title": "u"}, format="json")
    with django_assert_num_queries(3):  # user, lookup, update
        user_client.patch(path, {"title": "v"}, format="json")
    with django_assert_num_queries(3):  # user, lookup, delete
        response = user_client.delete(path)

    assert response.status_code == HTTPStatus.NO_CONTENT


def test_item_update_writes_only_the_changed_columns(
    user_client, user, django_assert_num_queries
):
    item = ItemFactory.create(owner=user)

    with django_assert_num_queries(3) as captured:
        user_client.patch(f"/api/v1/items/{item.pk}", {"title": "t"}, format="json")

    update = captured.captured_queries[-1]["sql"]
    assert "owner_id" not in update
    assert "created_at" not in update
