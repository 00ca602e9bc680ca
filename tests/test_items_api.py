"""The items endpoints: visibility in the queryset, owner from the caller."""

from datetime import UTC, datetime, timedelta, timezone
from http import HTTPStatus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from core.fields import iso_datetime
from items.models import Item
from items.serializers import ItemSerializer
from tests.factories import ItemFactory, UserFactory

ITEM_KEYS = {"id", "title", "description", "owner_id", "created_at", "updated_at"}


# Create -------------------------------------------------------------------------


def test_create_item_owned_by_the_caller(user_client, user):
    response = user_client.post(
        "/api/v1/items/", {"title": "Milk", "description": "2 litres"}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == ITEM_KEYS
    assert body["title"] == "Milk"
    assert body["description"] == "2 litres"
    assert body["owner_id"] == user.pk
    assert body["created_at"].endswith("Z")
    assert Item.objects.get(pk=body["id"]).owner_id == user.pk


def test_create_item_without_description_gives_null(user_client):
    response = user_client.post("/api/v1/items/", {"title": "Bread"}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["description"] is None


def test_owner_id_in_the_body_is_ignored(user_client, user):
    victim = UserFactory.create()

    response = user_client.post(
        "/api/v1/items/",
        {"title": "Mine", "owner_id": victim.pk, "owner": victim.pk, "id": 777},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["owner_id"] == user.pk
    assert not Item.objects.filter(owner=victim).exists()


def test_superuser_creates_items_for_themself_only(superuser_client, superuser):
    other = UserFactory.create()

    response = superuser_client.post(
        "/api/v1/items/", {"title": "x", "owner_id": other.pk}, format="json"
    )

    assert response.json()["owner_id"] == superuser.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": None}, "title"),
        ({"title": "t" * 256}, "title"),
        ({"title": 12}, "title"),
        ({"title": True}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": {"a": 1}}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"title": "ok", "description": "a\x00b"}, "description"),
        ({"title": "ok", "description": 3.5}, "description"),
    ],
)
def test_create_with_a_bad_field_is_400_naming_it_and_writes_nothing(
    user_client, body, field
):
    response = user_client.post("/api/v1/items/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["detail"]
    assert Item.objects.count() == 0


def test_title_of_255_characters_is_accepted(user_client):
    response = user_client.post("/api/v1/items/", {"title": "t" * 255}, format="json")

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_title_over_255_as_sent_is_refused_even_when_trimming_would_fit(user_client):
    padded = user_client.post(
        "/api/v1/items/", {"title": "    " + "t" * 255}, format="json"
    )
    trimmed = user_client.post("/api/v1/items/", {"title": "  Milk  "}, format="json")

    assert padded.status_code == HTTPStatus.BAD_REQUEST
    assert "title" in padded.json()["detail"]
    assert trimmed.status_code == HTTPStatus.CREATED
    assert trimmed.json()["title"] == "Milk"
    assert Item.objects.count() == 1


def test_title_of_one_mebibyte_is_refused_and_writes_nothing(user_client):
    response = user_client.post(
        "/api/v1/items/", {"title": "t" * (1024 * 1024)}, format="json"
    )

    # The body limit answers before the field's max_length is checked.
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "detail" in response.json()
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_cannot_create(api_client):
    response = api_client.post("/api/v1/items/", {"title": "x"}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Bearer"
    assert Item.objects.count() == 0


# Read, list -----------------------------------------------------------------------


def test_user_reads_their_item(user_client, user):
    item = ItemFactory.create(owner=user)

    response = user_client.get(f"/api/v1/items/{item.pk}")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == item.pk
    assert response.json()["title"] == item.title


def test_superuser_reads_any_item(superuser_client):
    item = ItemFactory.create()

    response = superuser_client.get(f"/api/v1/items/{item.pk}")

    assert response.status_code == HTTPStatus.OK


def test_user_lists_only_their_items_newest_first(user_client, user):
    mine = ItemFactory.create_batch(3, owner=user)
    ItemFactory.create_batch(2)

    response = user_client.get("/api/v1/items/")

    assert response.status_code == HTTPStatus.OK
    assert [row["id"] for row in response.json()] == [i.pk for i in reversed(mine)]
    assert response["X-Total-Count"] == "3"


def test_superuser_lists_every_item(superuser_client):
    ItemFactory.create_batch(2)
    ItemFactory.create_batch(2)

    response = superuser_client.get("/api/v1/items/")

    assert len(response.json()) == 4
    assert response["X-Total-Count"] == "4"


def test_list_is_newest_first_by_created_at_not_by_id(user_client, user):
    old, new = ItemFactory.create_batch(2, owner=user)
    Item.objects.filter(pk=old.pk).update(created_at=new.created_at.replace(year=2099))

    response = user_client.get("/api/v1/items/")

    assert [row["id"] for row in response.json()] == [old.pk, new.pk]


def test_q_filters_by_title_case_insensitively(user_client, user):
    hit = ItemFactory.create(owner=user, title="Buy MILK today")
    ItemFactory.create(owner=user, title="Buy bread")
    ItemFactory.create(title="milk of someone else")

    response = user_client.get("/api/v1/items/", {"q": "milk"})

    assert [row["id"] for row in response.json()] == [hit.pk]
    assert response["X-Total-Count"] == "1"


def test_q_treats_like_wildcards_literally(user_client, user):
    ItemFactory.create(owner=user, title="100% sure")
    ItemFactory.create(owner=user, title="1000 things")

    response = user_client.get("/api/v1/items/", {"q": "0%"})

    assert [row["title"] for row in response.json()] == ["100% sure"]


def test_empty_q_filters_nothing(user_client, user):
    ItemFactory.create_batch(2, owner=user)

    response = user_client.get("/api/v1/items/?q=")

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()) == 2


@pytest.mark.parametrize("q", ["a\x00b", "q" * 10_000, "q" * 256])
def test_absurd_q_is_400_naming_it(user_client, q):
    response = user_client.get("/api/v1/items/", {"q": q})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "q" in response.json()["detail"]


@pytest.mark.django_db
def test_anonymous_cannot_list(api_client):
    response = api_client.get("/api/v1/items/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


# Update -----------------------------------------------------------------------


def test_put_replaces_title_and_description(user_client, user):
    item = ItemFactory.create(owner=user, description="old")

    response = user_client.put(
        f"/api/v1/items/{item.pk}", {"title": "New"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "New"
    assert response.json()["description"] is None
    item.refresh_from_db()
    assert item.title == "New"


def test_put_requires_title(user_client, user):
    item = ItemFactory.create(owner=user, title="Kept")

    response = user_client.put(
        f"/api/v1/items/{item.pk}", {"description": "d"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "title" in response.json()["detail"]
    item.refresh_from_db()
    assert item.title == "Kept"


def test_patch_changes_only_what_it_names(user_client, user):
    item = ItemFactory.create(owner=user, title="Kept", description="old")

    response = user_client.patch(
        f"/api/v1/items/{item.pk}", {"description": "new"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "Kept"
    assert response.json()["description"] == "new"


def test_patch_can_clear_the_description(user_client, user):
    item = ItemFactory.create(owner=user, description="old")

    response = user_client.patch(
        f"/api/v1/items/{item.pk}", {"description": None}, format="json"
    )

    assert response.json()["description"] is None


def test_update_cannot_move_an_item_to_another_owner(user_client, user):
    item = ItemFactory.create(owner=user)
    victim = UserFactory.create()

    for method in ("put", "patch"):
        response = getattr(user_client, method)(
            f"/api/v1/items/{item.pk}",
            {"title": "x", "owner_id": victim.pk, "owner": victim.pk},
            format="json",
        )
        assert response.status_code == HTTPStatus.OK
        assert response.json()["owner_id"] == user.pk
    item.refresh_from_db()
    assert item.owner_id == user.pk


def test_superuser_updates_an_item_without_taking_it_over(superuser_client):
    item = ItemFactory.create()

    response = superuser_client.patch(
        f"/api/v1/items/{item.pk}", {"title": "Moderated"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["owner_id"] == item.owner_id


def test_patch_with_a_bad_title_is_400_and_changes_nothing(user_client, user):
    item = ItemFactory.create(owner=user, title="Kept")

    response = user_client.patch(
        f"/api/v1/items/{item.pk}", {"title": "x" * 300}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    item.refresh_from_db()
    assert item.title == "Kept"


# Delete -----------------------------------------------------------------------


def test_user_deletes_their_item(user_client, user):
    item = ItemFactory.create(owner=user)

    response = user_client.delete(f"/api/v1/items/{item.pk}")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""
    assert not Item.objects.filter(pk=item.pk).exists()


def test_superuser_deletes_any_item(superuser_client):
    item = ItemFactory.create()

    response = superuser_client.delete(f"/api/v1/items/{item.pk}")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Item.objects.filter(pk=item.pk).exists()


# Another user's item (BOLA): 404 for every method, nothing changed --------------


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("get", None),
        ("put", {"title": "stolen"}),
        ("patch", {"title": "stolen"}),
        ("delete", None),
    ],
)
def test_another_users_item_is_404_like_a_missing_one(user_client, method, body):
    item = ItemFactory.create(title="theirs")
    missing = item.pk + 1000

    theirs = getattr(user_client, method)(
        f"/api/v1/items/{item.pk}", body, format="json"
    )
    absent = getattr(user_client, method)(
        f"/api/v1/items/{missing}", body, format="json"
    )

    assert theirs.status_code == HTTPStatus.NOT_FOUND
    assert absent.status_code == HTTPStatus.NOT_FOUND
    assert theirs.json() == absent.json()
    item.refresh_from_db()
    assert item.title == "theirs"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_anonymous_on_an_item_is_401(api_client, method):
    item = ItemFactory.create()

    response = getattr(api_client, method)(
        f"/api/v1/items/{item.pk}", {}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert Item.objects.filter(pk=item.pk).exists()


@pytest.mark.parametrize(
    "pk", ["abc", "-1", "0", "99999999999999999999999", "9223372036854775808", "%00"]
)
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_non_ids_and_huge_ids_are_404_not_500(user_client, method, pk):
    response = getattr(user_client, method)(
        f"/api/v1/items/{pk}", {"title": "x"}, format="json"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "detail" in response.json()


def test_item_paths_answer_with_and_without_trailing_slash(user_client, user):
    item = ItemFactory.create(owner=user)

    assert user_client.get(f"/api/v1/items/{item.pk}/").status_code == HTTPStatus.OK
    assert user_client.get("/api/v1/items").status_code == HTTPStatus.OK
    created = user_client.post("/api/v1/items", {"title": "no slash"}, format="json")
    assert created.status_code == HTTPStatus.CREATED


def test_post_on_an_item_is_405_with_allow(user_client, user):
    item = ItemFactory.create(owner=user)

    response = user_client.post(f"/api/v1/items/{item.pk}", {}, format="json")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert set(response["Allow"].split(", ")) >= {"GET", "PUT", "PATCH", "DELETE"}


def test_item_rows_are_exactly_the_declared_fields_in_order(user_client, user):
    dated = ItemFactory.create(owner=user, title="ünïcödé ✓", description="")
    bare = ItemFactory.create(owner=user, title="t", description=None)
    Item.objects.filter(pk=dated.pk).update(
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds
    )
    Item.objects.filter(pk=bare.pk).update(
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    response = user_client.get("/api/v1/items/")

    assert (
        response.content
        == (
            f'[{{"id":{dated.pk},"title":"ünïcödé ✓","description":"",'
            f'"owner_id":{user.pk},"created_at":"2026-01-02T03:04:05.678901Z",'
            '"updated_at":"2026-01-01T00:00:00Z"},'
            f'{{"id":{bare.pk},"title":"t","description":null,'
            f'"owner_id":{user.pk},"created_at":"2026-01-01T00:00:00Z",'
            '"updated_at":"2026-01-01T00:00:00Z"}]'
        ).encode()
    )


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7, minutes=-30))]),
    )
)
def test_fast_timestamps_match_drf_for_any_moment(moment):
    assert iso_datetime(moment) == serializers.DateTimeField().to_representation(moment)


# Outside a test transaction, as a request runs: Django marks an open transaction
# for rollback when an UPDATE with update_fields matches no row.
@pytest.mark.django_db(transaction=True)
def test_updating_an_item_deleted_meanwhile_is_404_not_a_resurrection(user):
    item = ItemFactory.create(owner=user)
    Item.objects.filter(pk=item.pk).delete()  # by a concurrent request
    serializer = ItemSerializer(item, data={"title": "late"}, partial=True)
    serializer.is_valid(raise_exception=True)

    with pytest.raises(NotFound):
        serializer.save()

    assert not Item.objects.filter(pk=item.pk).exists()
