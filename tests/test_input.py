"""Input papercuts: empty bodies, empty updates, control characters, absurd forms."""

from http import HTTPStatus
from importlib import import_module

import orjson
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from items.models import Item
from tests.factories import ItemFactory, UserFactory
from users.models import User
from users.services import token_pair_issue

# users/migrations/0003_full_name_null.py (renumbered when migrations are merged)
FULL_NAME_MIGRATION = "0003_full_name_null"
C0_SAMPLES = ["\x01", "\x07", "\x1b[31m", "\x1f", "\t", "\n", "\r"]
SINGLE_LINE_ONLY = ["\t", "\n", "\r"]  # free text may hold these


def bearer_client(user: User) -> Client:
    """A plain Django client with a bearer token, which can send any raw body."""
    token = token_pair_issue(user=user)["access_token"]
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def empty_body(client: Client, method: str, path: str, content_type: str):
    """Send a request with a Content-Type and no body, as `curl -X PATCH -H` does.

    Django's test client drops the Content-Type of an empty body: set it by hand.
    """
    return client.generic(method, path, CONTENT_TYPE=content_type, CONTENT_LENGTH="0")


def field_errors(response) -> dict:
    """The field errors of a 400 JSON answer."""
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    detail = orjson.loads(response.content)["detail"]
    assert isinstance(detail, dict), detail
    return detail


# Empty bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/v1/items/{item}"),
        ("PUT", "/api/v1/items/{item}"),
        ("POST", "/api/v1/items/"),
        ("PATCH", "/api/v1/users/{user}"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/users/me/password"),
    ],
)
def test_an_empty_json_body_is_malformed_json(user, method, path):
    item = ItemFactory.create(owner=user, title="Kept")
    before = User.objects.get(pk=user.pk).updated_at

    response = empty_body(
        bearer_client(user),
        method,
        path.format(item=item.pk, user=user.pk),
        "application/json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "JSON parse error - the body is empty."}
    item.refresh_from_db()
    assert item.title == "Kept"
    assert Item.objects.count() == 1
    assert User.objects.get(pk=user.pk).updated_at == before


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/users/"])
def test_an_empty_json_body_is_malformed_for_anonymous_endpoints_too(path):
    response = empty_body(Client(), "POST", path, "application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "JSON parse error - the body is empty."}
    assert User.objects.count() == 0


def test_an_empty_body_still_gets_401_405_and_415_first(user):
    item = ItemFactory.create(owner=user)
    client = bearer_client(user)

    path = f"/api/v1/items/{item.pk}"

    anonymous = empty_body(Client(), "PATCH", path, "application/json")
    wrong_method = empty_body(client, "POST", "/api/v1/users/me", "application/json")
    plain_text = empty_body(client, "PATCH", path, "text/plain")

    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED
    assert wrong_method.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert plain_text.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE


def test_a_get_with_a_json_content_type_and_no_body_is_fine(user):
    ItemFactory.create(owner=user)

    response = empty_body(bearer_client(user), "GET", "/api/v1/items/", "text/json")

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()) == 1


# Empty updates ---------------------------------------------------------------------


def test_patch_of_an_empty_object_changes_no_item(user):
    item = ItemFactory.create(owner=user)
    before = Item.objects.get(pk=item.pk)

    response = bearer_client(user).patch(
        f"/api/v1/items/{item.pk}", b"{}", "application/json"
    )

    assert response.status_code == HTTPStatus.OK
    after = Item.objects.get(pk=item.pk)
    assert after.updated_at == before.updated_at
    assert response.json()["updated_at"] == before.updated_at.isoformat().replace(
        "+00:00", "Z"
    )
    assert (after.title, after.description) == (before.title, before.description)


@pytest.mark.django_db
@pytest.mark.parametrize("as_superuser", [False, True])
def test_patch_of_an_empty_object_changes_no_user(as_superuser):
    user = UserFactory.create(is_superuser=as_superuser)
    before = User.objects.get(pk=user.pk)

    response = bearer_client(user).patch(
        f"/api/v1/users/{user.pk}", b"{}", "application/json"
    )

    assert response.status_code == HTTPStatus.OK
    after = User.objects.get(pk=user.pk)
    assert after.updated_at == before.updated_at
    assert (after.email, after.full_name, after.password) == (
        before.email,
        before.full_name,
        before.password,
    )


# Control characters ------------------------------------------------------------------


@pytest.mark.parametrize("control", C0_SAMPLES)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_control_character_in_a_title_is_refused(user, control, where):
    title = {"start": f"{control}x", "middle": f"a{control}b", "end": f"x{control}"}

    response = bearer_client(user).post(
        "/api/v1/items/", {"title": title[where]}, "application/json"
    )

    assert "Control characters" in field_errors(response)["title"][0]
    assert Item.objects.count() == 0


@pytest.mark.parametrize("control", C0_SAMPLES)
def test_a_control_character_in_a_name_or_an_email_is_refused(user, control):
    client = bearer_client(user)

    name = client.patch(
        f"/api/v1/users/{user.pk}", {"full_name": f"A{control}B"}, "application/json"
    )
    email = client.patch(
        f"/api/v1/users/{user.pk}",
        {"email": f"a{control}b@example.com"},
        "application/json",
    )
    registration = Client().post(
        "/api/v1/users/",
        {"email": "new@example.com", "password": "x" * 8, "full_name": f"{control}"},
        "application/json",
    )

    assert "Control characters" in field_errors(name)["full_name"][0]
    assert set(field_errors(email)) == {"email"}
    assert set(field_errors(registration)) == {"full_name"}
    assert User.objects.get(pk=user.pk).full_name == user.full_name
    assert User.objects.count() == 1


def test_a_description_keeps_tabs_and_line_breaks(user):
    description = "Line one\r\n\tindented\nline three"

    response = bearer_client(user).post(
        "/api/v1/items/",
        {"title": "Notes", "description": description},
        "application/json",
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["description"] == description
    assert Item.objects.get().description == description


@pytest.mark.parametrize("control", ["\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f"])
def test_other_control_characters_in_a_description_are_refused(user, control):
    response = bearer_client(user).post(
        "/api/v1/items/",
        {"title": "Notes", "description": f"a{control}b"},
        "application/json",
    )

    message = field_errors(response)["description"][0]
    assert "other than tab, line feed and carriage return" in message
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_a_password_may_hold_a_tab():
    response = Client().post(
        "/api/v1/users/",
        {"email": "tab@example.com", "password": "long\tenough"},
        "application/json",
    )

    assert response.status_code == HTTPStatus.CREATED
    assert User.objects.get().check_password("long\tenough")


# Email local parts -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email",
    [
        "ı@example.com",  # dotless i, upper-cases to I
        "ſ@example.com",  # long s, upper-cases to S
        "ſx@example.com",
        "\u212a@example.com",  # Kelvin sign, lower-cases to k
        "é@example.com",  # refused before: every non-ASCII local part alike
    ],
)
def test_a_non_ascii_local_part_is_refused(email):
    response = Client().post(
        "/api/v1/users/", {"email": email, "password": "x" * 8}, "application/json"
    )

    assert field_errors(response) == {"email": ["Enter a valid email address."]}
    assert User.objects.count() == 0


def test_an_email_change_to_a_long_s_is_refused(user):
    UserFactory.create(email="sx@example.com")

    response = bearer_client(user).patch(
        f"/api/v1/users/{user.pk}", {"email": "ſx@example.com"}, "application/json"
    )

    assert set(field_errors(response)) == {"email"}
    assert not User.objects.filter(email__startswith="ſ").exists()


def test_the_admin_refuses_a_non_ascii_local_part_too(superuser):
    client = Client()
    client.force_login(superuser)

    response = client.post(
        "/admin/users/user/add/",
        {
            "email": "ſx@example.com",
            "usable_password": "true",
            "password1": "A-long-enough-passw0rd",
            "password2": "A-long-enough-passw0rd",
        },
    )

    assert response.status_code == HTTPStatus.OK  # the form again, with its error
    assert b"Enter a valid email address." in response.content
    assert not User.objects.filter(email="ſx@example.com").exists()


# full_name: null, not "" -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_blank_full_names_into_null():
    executor = MigrationExecutor(connection)
    executor.migrate([("users", "0001_initial")])
    old_user = executor.loader.project_state([("users", "0001_initial")]).apps
    OldUser = old_user.get_model("users", "User")
    OldUser.objects.create(email="blank@example.com", full_name="", password="!")
    OldUser.objects.create(email="named@example.com", full_name="Ann", password="!")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    token = token_pair_issue(user=User.objects.get(email="blank@example.com"))

    response = Client().get(
        "/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}"
    )
    assert response.json()["full_name"] is None
    assert User.objects.get(email="named@example.com").full_name == "Ann"
    assert import_module(f"users.migrations.{FULL_NAME_MIGRATION}")


# Absurd forms -----------------------------------------------------------------------


@pytest.mark.django_db
def test_100000_form_fields_are_a_400_and_one_warning_line(logs):
    body = "&".join(f"f{n}=1" for n in range(100_000))

    response = Client().post(
        "/api/v1/auth/login", body, "application/x-www-form-urlencoded"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Too many form fields: the limit is 1000."}
    lines = logs.lines()
    assert [line["level"] for line in lines if line["level"] != "info"] == ["warning"]
    assert "Traceback" not in logs.text
    assert not any("exception" in line for line in lines)


@pytest.mark.django_db
def test_100000_form_fields_at_the_admin_are_one_warning_line_too(logs):
    body = "&".join(f"f{n}=1" for n in range(100_000))

    response = Client().post(
        "/admin/login/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    levels = [line["level"] for line in logs.lines() if line["level"] != "info"]
    assert levels == ["warning"]
    assert "Traceback" not in logs.text
