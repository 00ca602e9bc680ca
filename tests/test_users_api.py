"""The users endpoints: registration, me, list, read, update and delete."""

import threading
from datetime import UTC, datetime
from http import HTTPStatus

import orjson
import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import NotFound
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, ItemFactory, SuperuserFactory, UserFactory
from tests.support.http import bearer
from users.models import User
from users.services import user_update

USER_KEYS = {
    "id",
    "email",
    "full_name",
    "is_active",
    "is_superuser",
    "created_at",
    "updated_at",
}
NEW_PASSWORD = "a brand new secret"
GOOD = {"email": "x@example.com", "password": "long enough"}


def register(client: APIClient, **body: object):
    """POST a registration body."""
    return client.post("/api/v1/users/", body, format="json")


# Registration ------------------------------------------------------------------


@pytest.mark.django_db
def test_registration_creates_an_ordinary_active_user(api_client):
    response = register(
        api_client, email="new@example.com", password="long enough", full_name="Ann"
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == USER_KEYS
    assert body["email"] == "new@example.com"
    assert body["full_name"] == "Ann"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert User.objects.get(pk=body["id"]).check_password("long enough")


@pytest.mark.django_db
def test_registration_never_shows_the_password_or_its_hash(api_client):
    response = register(api_client, email="new@example.com", password="long enough")

    text = response.content.decode()
    stored_hash = User.objects.get(email="new@example.com").password
    assert "password" not in text
    assert "long enough" not in text
    assert stored_hash not in text


@pytest.mark.django_db
def test_registration_ignores_privileged_fields_in_the_body(api_client):
    response = register(
        api_client,
        email="sneaky@example.com",
        password="long enough",
        is_superuser=True,
        is_active=False,
    )

    assert response.status_code == HTTPStatus.CREATED
    user = User.objects.get(email="sneaky@example.com")
    assert user.is_superuser is False
    assert user.is_active is True


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [{"full_name": None}, {}])
def test_registration_without_a_full_name_shows_it_as_null(api_client, extra):
    response = register(api_client, email="n@example.com", password="x" * 8, **extra)

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["full_name"] is None
    assert User.objects.get(email="n@example.com").full_name is None


def test_patch_with_a_null_full_name_clears_it(user_client, user):
    response = user_client.patch(
        f"/api/v1/users/{user.pk}", {"full_name": None}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["full_name"] is None
    user.refresh_from_db()
    assert user.full_name is None


@pytest.mark.django_db
def test_registration_lower_cases_the_domain_only(api_client):
    response = register(api_client, email="Mixed.Case@EXAMPLE.Com", password="x" * 8)

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["email"] == "Mixed.Case@example.com"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email", ["taken@example.com", "TAKEN@example.com", "Taken@EXAMPLE.COM"]
)
def test_registration_of_a_taken_email_in_any_case_is_400(api_client, email):
    UserFactory.create(email="taken@example.com")

    response = register(api_client, email=email, password="long enough")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Email already registered"}
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_registration_race_lost_at_the_database_constraint_is_400(
    api_client, monkeypatch
):
    # The check before the insert is only an optimisation: with it skipped (as when
    # two requests pass it together), the unique index alone refuses the duplicate.
    UserFactory.create(email="race@example.com")
    monkeypatch.setattr(User.objects, "email_taken", lambda *a, **k: False)

    response = register(api_client, email="RACE@example.com", password="long enough")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Email already registered"}
    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": "long enough"}, "email"),
        ({"email": "a@b", "password": "long enough"}, "email"),
        ({"email": "x@example.com", "password": "short"}, "password"),
        ({"email": "x@example.com"}, "password"),
        ({"password": "long enough"}, "email"),
        ({"email": 42, "password": "long enough"}, "email"),
        ({"email": "x@example.com", "password": 12345678}, "password"),
        ({**GOOD, "full_name": 7}, "full_name"),
        ({"email": "x\x00y@example.com", "password": "long enough"}, "email"),
        ({"email": "x@example.com", "password": "long\x00enough"}, "password"),
        ({"email": "x" * 10_000 + "@example.com", "password": "long enough"}, "email"),
        ({"email": "x@example.com", "password": "p" * 10_000}, "password"),
        ({**GOOD, "full_name": "n" * 256}, "full_name"),
    ],
)  # fmt: skip
def test_registration_with_a_bad_field_is_400_naming_it(api_client, body, field):
    response = api_client.post("/api/v1/users/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["detail"]
    assert User.objects.count() == 0


LOCAL = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_-"),
    min_size=1,
    max_size=20,
)  # fmt: skip
LABEL = st.text(  # domain labels: ASCII, and a few letters of internationalised domains
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ÄäÖöÉé"),
    min_size=2,
    max_size=12,
)  # fmt: skip


def swap_case_at(text: str, flips: list[bool]) -> str:
    """Return text with the case of each letter flipped where flips says so."""
    return "".join(
        c.swapcase() if flips[i % len(flips)] else c for i, c in enumerate(text)
    )


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    local=LOCAL,
    labels=st.lists(LABEL, min_size=1, max_size=3),
    flips=st.lists(st.booleans(), min_size=1, max_size=8),
)
def test_email_normalisation_property(local, labels, flips):
    # Each example starts from an empty table: the fixture's transaction is shared.
    User.objects.all().delete()
    client = APIClient()
    email = f"{local}@{'.'.join(labels)}.com"

    first = register(client, email=email, password="long enough")
    second = register(client, email=swap_case_at(email, flips), password="long enough")

    assert first.status_code == HTTPStatus.CREATED
    local_part, domain = email.rsplit("@", 1)
    assert first.json()["email"] == f"{local_part}@{domain.lower()}"
    assert second.status_code == HTTPStatus.BAD_REQUEST
    assert second.json() == {"detail": "Email already registered"}
    assert User.objects.count() == 1


@pytest.mark.live
def test_concurrent_registrations_of_one_email_give_one_201_and_400s(gunicorn_server):
    url = f"{gunicorn_server.url}/api/v1/users/"
    emails = [f"{'RACE' if i % 2 else 'race'}@Example.com" for i in range(8)]
    barrier = threading.Barrier(len(emails))
    statuses: list[int] = []
    bodies: list[dict] = []
    http = urllib3.PoolManager(maxsize=len(emails))

    def post(email: str) -> None:
        barrier.wait()
        response = http.request(
            "POST",
            url,
            body=orjson.dumps({"email": email, "password": "long enough"}),
            headers={"Content-Type": "application/json"},
            timeout=30,
            retries=False,
        )
        statuses.append(response.status)
        bodies.append(orjson.loads(response.data))

    threads = [threading.Thread(target=post, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] + [400] * (len(emails) - 1)
    refusals = [body for body in bodies if "id" not in body]
    assert all(body == {"detail": "Email already registered"} for body in refusals)
    assert User.objects.with_email("race@example.com").count() == 1


# Me ---------------------------------------------------------------------------


def test_me_returns_the_caller(user_client, user):
    response = user_client.get("/api/v1/users/me")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == user.pk
    assert response.json()["email"] == user.email
    assert set(response.json()) == USER_KEYS


@pytest.mark.django_db
def test_me_without_a_token_is_401_with_bearer_challenge(api_client):
    response = api_client.get("/api/v1/users/me")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Bearer"
    assert "detail" in response.json()


def test_me_answers_with_and_without_trailing_slash(user_client):
    assert user_client.get("/api/v1/users/me/").status_code == HTTPStatus.OK
    assert user_client.get("/api/v1/users/me").status_code == HTTPStatus.OK


# List -------------------------------------------------------------------------


def test_superuser_lists_users_ordered_by_id(superuser_client, superuser):
    others = UserFactory.create_batch(3)

    response = superuser_client.get("/api/v1/users/")

    assert response.status_code == HTTPStatus.OK
    ids = [row["id"] for row in response.json()]
    assert ids == sorted([superuser.pk, *(u.pk for u in others)])
    assert response["X-Total-Count"] == "4"


def test_ordinary_user_cannot_list_users(user_client):
    response = user_client.get("/api/v1/users/")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"detail": "The user doesn't have enough privileges"}


@pytest.mark.django_db
def test_anonymous_cannot_list_users(api_client):
    response = api_client.get("/api/v1/users/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


# Read one ---------------------------------------------------------------------


def test_user_reads_themself(user_client, user):
    response = user_client.get(f"/api/v1/users/{user.pk}")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == user.email


def test_superuser_reads_anyone(superuser_client):
    other = UserFactory.create()

    response = superuser_client.get(f"/api/v1/users/{other.pk}")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == other.pk


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_user_is_refused_another_user_existing_or_not_with_the_same_403(
    user_client, method
):
    other = UserFactory.create()
    missing = other.pk + 1000

    existing = getattr(user_client, method)(
        f"/api/v1/users/{other.pk}", {}, format="json"
    )
    absent = getattr(user_client, method)(f"/api/v1/users/{missing}", {}, format="json")

    assert existing.status_code == HTTPStatus.FORBIDDEN
    assert absent.status_code == HTTPStatus.FORBIDDEN
    assert existing.json() == absent.json()
    other.refresh_from_db()
    assert other.is_active


@pytest.mark.parametrize(
    "pk", ["abc", "-1", "99999999999999999999999", "1e3", "%00", "%20{pk}", "{pk}_"]
)
def test_user_asking_for_a_non_id_is_403_not_500(user_client, user, pk):
    response = user_client.get(f"/api/v1/users/{pk.format(pk=user.pk)}")

    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("pk", ["abc", "-1", "99999999999999999999999", "0"])
def test_superuser_asking_for_a_missing_or_non_id_is_404(superuser_client, pk):
    response = superuser_client.get(f"/api/v1/users/{pk}")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_anonymous_on_a_user_is_401(api_client, method):
    other = UserFactory.create()

    response = getattr(api_client, method)(f"/api/v1/users/{other.pk}")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


# Update -----------------------------------------------------------------------


def test_user_updates_their_name_and_email(user_client, user):
    response = user_client.patch(
        f"/api/v1/users/{user.pk}",
        {"full_name": "New Name", "email": "Renamed@EXAMPLE.org"},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["full_name"] == "New Name"
    assert response.json()["email"] == "Renamed@example.org"
    user.refresh_from_db()
    assert user.email == "Renamed@example.org"


def test_user_may_change_the_case_of_their_own_email(user_client, user):
    response = user_client.patch(
        f"/api/v1/users/{user.pk}", {"email": user.email.upper()}, format="json"
    )

    assert response.status_code == HTTPStatus.OK


def test_patch_password_hashes_it_and_it_logs_in(user_client, user, api_client):
    response = user_client.patch(
        f"/api/v1/users/{user.pk}", {"password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert user.password != NEW_PASSWORD
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(DEFAULT_PASSWORD)
    login = api_client.post(
        "/api/v1/auth/login",
        {"username": user.email, "password": NEW_PASSWORD},
        format="json",
    )
    assert login.status_code == HTTPStatus.OK


def test_patch_email_to_another_accounts_email_in_other_case_is_400(user_client, user):
    other = UserFactory.create(email="other@example.com")

    response = user_client.patch(
        f"/api/v1/users/{user.pk}", {"email": "OTHER@Example.COM"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Email already registered"}
    user.refresh_from_db()
    assert user.email != other.email


@pytest.mark.parametrize(
    "body",
    [
        {"is_superuser": True},
        {"is_active": False},
        {"is_superuser": True, "is_active": True, "full_name": "Still Me"},
        {"id": 12345},
        {"created_at": "2000-01-01T00:00:00Z"},
    ],
)
def test_user_cannot_set_privileged_or_server_fields(user_client, user, body):
    before = User.objects.get(pk=user.pk)

    response = user_client.patch(f"/api/v1/users/{user.pk}", body, format="json")

    assert response.status_code == HTTPStatus.OK  # the fields are not writable: ignored
    after = User.objects.get(pk=user.pk)
    assert after.is_superuser is False
    assert after.is_active is True
    assert after.created_at == before.created_at
    assert not User.objects.filter(pk=12345).exists()


def test_superuser_sets_privileges_of_another_user(superuser_client):
    other = UserFactory.create()

    response = superuser_client.patch(
        f"/api/v1/users/{other.pk}",
        {"is_superuser": True, "is_active": False},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["is_superuser"] is True
    assert response.json()["is_active"] is False
    other.refresh_from_db()
    assert other.is_superuser
    assert not other.is_active


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"is_active": False}, "is_active"),
        ({"is_superuser": False}, "is_superuser"),
        ({"is_active": False, "full_name": "Renamed"}, "is_active"),
        ({"is_superuser": False, "email": "new@example.com"}, "is_superuser"),
    ],
)
def test_superuser_cannot_deactivate_or_demote_themself(
    superuser_client, superuser, body, field
):
    before = User.objects.get(pk=superuser.pk)

    response = superuser_client.patch(
        f"/api/v1/users/{superuser.pk}", body, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["detail"]) == [field]
    assert "your own" in response.json()["detail"][field][0]
    after = User.objects.get(pk=superuser.pk)
    assert (after.is_active, after.is_superuser) == (True, True)
    assert (after.email, after.full_name, after.updated_at) == (
        before.email,
        before.full_name,
        before.updated_at,
    )
    assert after.tokens_valid_after == before.tokens_valid_after
    assert superuser_client.get("/api/v1/users/me").status_code == HTTPStatus.OK


def test_superuser_keeping_their_own_status_may_send_it(superuser_client, superuser):
    response = superuser_client.patch(
        f"/api/v1/users/{superuser.pk}",
        {"is_active": True, "is_superuser": True, "full_name": "Still Me"},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["full_name"] == "Still Me"
    assert superuser_client.get("/api/v1/users/me").status_code == HTTPStatus.OK


def test_superuser_demotes_another_superuser(superuser_client):
    other = SuperuserFactory.create()

    response = superuser_client.patch(
        f"/api/v1/users/{other.pk}", {"is_superuser": False}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["is_superuser"] is False
    other.refresh_from_db()
    assert not other.is_superuser
    assert other.is_active


def test_deactivated_user_is_refused_on_the_next_request(
    superuser_client, user, user_client
):
    superuser_client.patch(
        f"/api/v1/users/{user.pk}", {"is_active": False}, format="json"
    )

    response = user_client.get("/api/v1/users/me")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"email": None}, "email"),
        ({"email": ["a@example.com"]}, "email"),
        ({"password": "short"}, "password"),
        ({"password": None}, "password"),
        ({"full_name": "x" * 256}, "full_name"),
        ({"full_name": "a\x00b"}, "full_name"),
        ({"full_name": {"nested": "object"}}, "full_name"),
    ],
)
def test_patch_with_a_bad_field_is_400_naming_it_and_changes_nothing(
    user_client, user, body, field
):
    before = User.objects.get(pk=user.pk)

    response = user_client.patch(f"/api/v1/users/{user.pk}", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["detail"]
    after = User.objects.get(pk=user.pk)
    assert (after.email, after.full_name, after.password) == (
        before.email,
        before.full_name,
        before.password,
    )


def test_superuser_sending_a_bad_privilege_value_is_400(superuser_client):
    other = UserFactory.create()

    response = superuser_client.patch(
        f"/api/v1/users/{other.pk}", {"is_superuser": "maybe"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "is_superuser" in response.json()["detail"]


def test_put_on_a_user_is_405_with_allow(user_client, user):
    response = user_client.put(f"/api/v1/users/{user.pk}", {}, format="json")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert "PATCH" in response["Allow"]
    assert "PUT" not in response["Allow"]


def test_anonymous_put_on_a_user_is_405_not_401(api_client, user):
    response = api_client.put(f"/api/v1/users/{user.pk}", {}, format="json")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert "PATCH" in response["Allow"]


# Delete -----------------------------------------------------------------------


def test_superuser_deletes_a_user_and_their_items(superuser_client):
    other = UserFactory.create()
    ItemFactory.create_batch(3, owner=other)
    kept = ItemFactory.create()

    response = superuser_client.delete(f"/api/v1/users/{other.pk}")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""
    assert not User.objects.filter(pk=other.pk).exists()
    assert other.items.count() == 0
    assert kept.__class__.objects.filter(pk=kept.pk).exists()


def test_deleted_users_token_stops_working(superuser_client):
    other = UserFactory.create()
    other_client = bearer(APIClient(), other)

    superuser_client.delete(f"/api/v1/users/{other.pk}")

    assert other_client.get("/api/v1/users/me").status_code == HTTPStatus.UNAUTHORIZED


def test_superuser_cannot_delete_themself(superuser_client, superuser):
    response = superuser_client.delete(f"/api/v1/users/{superuser.pk}")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "detail" in response.json()
    assert User.objects.filter(pk=superuser.pk).exists()


def test_ordinary_user_cannot_delete_themself(user_client, user):
    response = user_client.delete(f"/api/v1/users/{user.pk}")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert User.objects.filter(pk=user.pk).exists()


def test_deleting_a_missing_user_is_404(superuser_client):
    response = superuser_client.delete("/api/v1/users/987654321")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_another_superuser_can_be_deleted(superuser_client):
    other = SuperuserFactory.create()

    response = superuser_client.delete(f"/api/v1/users/{other.pk}")

    assert response.status_code == HTTPStatus.NO_CONTENT


def test_user_rows_are_exactly_the_declared_fields_in_order(superuser_client):
    user = UserFactory.create(
        email="zoe@example.com", full_name="Zoë ✓", is_active=False
    )
    User.objects.filter(pk=user.pk).update(
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds
    )

    response = superuser_client.get(f"/api/v1/users/{user.pk}")

    assert (
        response.content
        == (
            f'{{"id":{user.pk},"email":"zoe@example.com","full_name":"Zoë ✓",'
            '"is_active":false,"is_superuser":false,'
            '"created_at":"2026-01-02T03:04:05.678901Z",'
            '"updated_at":"2026-01-01T00:00:00Z"}'
        ).encode()
    )


def test_a_missing_full_name_is_null_and_a_blank_one_blank(superuser_client):
    nameless = UserFactory.create(full_name=None)
    blank = UserFactory.create(full_name="")

    first = superuser_client.get(f"/api/v1/users/{nameless.pk}")
    second = superuser_client.get(f"/api/v1/users/{blank.pk}")

    assert first.json()["full_name"] is None
    assert second.json()["full_name"] == ""


def test_updating_a_user_deleted_meanwhile_is_404_not_a_resurrection(user):
    User.objects.filter(pk=user.pk).delete()  # by a concurrent request

    with pytest.raises(NotFound):
        user_update(user=user, data={"full_name": "late"}, by=user)

    assert not User.objects.filter(pk=user.pk).exists()
