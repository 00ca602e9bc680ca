"""Contract: Users, `/api/v1/users/`."""

import threading
import time

import httpx
import pytest

from tests.contract.helpers import (
    API,
    USER_KEYS,
    assert_bearer_challenge,
    assert_validation_error,
    error_detail,
    is_json,
    is_timestamp,
    log_in,
    new_client,
    unique_email,
)

MISSING_ID = 2**31 - 1


def assert_user(body: dict) -> None:
    """Check the user representation: its keys, types, no password."""
    assert set(body) == USER_KEYS, body
    assert isinstance(body["id"], int)
    assert not isinstance(body["id"], bool)
    assert isinstance(body["is_active"], bool)
    assert isinstance(body["is_superuser"], bool)
    assert body["full_name"] is None or isinstance(body["full_name"], str)
    assert is_timestamp(body["created_at"]), body["created_at"]
    assert is_timestamp(body["updated_at"]), body["updated_at"]


def test_registration_returns_the_user_without_its_password(
    client: httpx.Client,
) -> None:
    """`POST /users/` | anyone (registration) | 201 user. User representation:
    `{"id", "email", "full_name", "is_active", "is_superuser", "created_at",
    "updated_at"}`. The password and its hash never appear in any response."""
    email, password = unique_email(), "a-long-password-1"

    response = client.post(
        f"{API}/users/",
        json={"email": email, "password": password, "full_name": "Ada Lovelace"},
    )

    assert response.status_code == 201, response.text
    assert is_json(response)
    body = response.json()
    assert_user(body)
    assert body["email"] == email
    assert body["full_name"] == "Ada Lovelace"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert password not in response.text
    assert "password" not in response.text
    assert "argon2" not in response.text


def test_registration_cannot_make_a_superuser(client: httpx.Client, observe) -> None:
    """A non-superuser can never raise their own privileges, whatever the body
    holds."""
    email = unique_email()

    response = client.post(
        f"{API}/users/",
        json={"email": email, "password": "a-long-password-1", "is_superuser": True},
    )

    observe("registration with is_superuser status", response.status_code)
    assert response.status_code in (201, 400, 422), response.text
    if response.status_code == 201:
        assert response.json()["is_superuser"] is False
        tokens = log_in(client, email, "a-long-password-1")
        with new_client(Authorization=f"Bearer {tokens['access_token']}") as session:
            assert session.get(f"{API}/users/").status_code == 403


def test_full_name_omitted_is_null(client: httpx.Client) -> None:
    """A client written against that service works against this one on every happy
    path (the guide's service answers `"full_name": null` when none was given)."""
    response = client.post(
        f"{API}/users/",
        json={"email": unique_email(), "password": "a-long-password-1"},
    )

    assert response.status_code == 201
    assert response.json()["full_name"] is None


def test_emails_are_stored_with_the_domain_lower_cased(client: httpx.Client) -> None:
    """Emails are stored normalised (domain lower-cased)."""
    local = unique_email().split("@")[0]

    response = client.post(
        f"{API}/users/",
        json={"email": f"{local}@EXAMPLE.Com", "password": "a-long-password-1"},
    )

    assert response.status_code == 201, response.text
    assert response.json()["email"] == f"{local}@example.com"


@pytest.mark.parametrize("spelling", ["same", "upper", "local-upper"])
def test_a_registered_email_in_any_case_is_refused(
    client: httpx.Client, spelling: str, observe
) -> None:
    """400 `{"detail": "Email already registered"}`-style when the email exists
    (case-insensitive)."""
    email = unique_email()
    first = client.post(
        f"{API}/users/", json={"email": email, "password": "a-long-password-1"}
    )
    assert first.status_code == 201
    again = {"same": email, "upper": email.upper(), "local-upper": email.title()}

    response = client.post(
        f"{API}/users/",
        json={"email": again[spelling], "password": "another-password-2"},
    )

    assert response.status_code == 400, response.text
    detail = error_detail(response)
    assert "already" in str(detail).lower(), detail
    observe("duplicate email detail", detail)


def test_two_concurrent_registrations_of_one_email(observe) -> None:
    """Two concurrent registrations of one email give one 201 and one 400, never a
    500."""
    email = unique_email()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def register_once() -> None:
        with new_client() as c:
            barrier.wait()
            response = c.post(
                f"{API}/users/", json={"email": email, "password": "a-long-password-1"}
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=register_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 400], statuses


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": "a-long-password-1"}, "email"),
        ({"email": "", "password": "a-long-password-1"}, "email"),
        ({"password": "a-long-password-1"}, "email"),
        ({"email": "{email}", "password": "short"}, "password"),
        ({"email": "{email}", "password": "1234567"}, "password"),
        ({"email": "{email}"}, "password"),
        ({"email": 42, "password": "a-long-password-1"}, "email"),
        ({"email": "{email}", "password": ["a-long-password-1"]}, "password"),
    ],
    ids=[
        "bad-email",
        "empty-email",
        "no-email",
        "short-password",
        "seven-characters",
        "no-password",
        "email-number",
        "password-list",
    ],
)
def test_registration_with_a_bad_field_names_it(
    client: httpx.Client, body: dict, field: str, observe
) -> None:
    """`POST /users/` ... 400/422 naming the field for a bad email or a password
    under 8 characters."""
    email = unique_email()
    body = {k: email if v == "{email}" else v for k, v in body.items()}

    response = client.post(f"{API}/users/", json=body)

    assert_validation_error(response, field, observe)
    if body.get("email") == email:  # nothing was created: the email is still free
        again = {"email": email, "password": "a-long-password-1"}
        assert client.post(f"{API}/users/", json=again).status_code == 201


def test_me_is_the_current_user(user) -> None:
    """`GET /users/me` | authenticated | 200 the current user."""
    response = user.client.get(f"{API}/users/me")

    assert response.status_code == 200
    assert_user(response.json())
    assert response.json()["id"] == user.id
    assert response.json()["email"] == user.email


def test_me_without_a_token_is_401(client: httpx.Client) -> None:
    """`GET /users/me` | authenticated | ... | 401."""
    assert_bearer_challenge(client.get(f"{API}/users/me"))


def test_superuser_lists_users_ordered_by_id(admin, make_user) -> None:
    """`GET /users/?skip=0&limit=100` | superuser | 200 JSON list of users, ordered by
    id."""
    made = [make_user(), make_user()]
    total = int(admin.client.get(f"{API}/users/").headers["x-total-count"])

    response = admin.client.get(
        f"{API}/users/", params={"skip": max(total - 100, 0), "limit": 100}
    )

    assert response.status_code == 200
    users = response.json()
    assert isinstance(users, list)
    for body in users:
        assert_user(body)
    ids = [body["id"] for body in users]
    assert ids == sorted(ids)
    assert {account.id for account in made} <= set(ids)


def test_an_ordinary_user_may_not_list_users(user, client: httpx.Client) -> None:
    """`GET /users/` | superuser | ... | 401; 403 `{"detail": ...}` for others."""
    forbidden = user.client.get(f"{API}/users/")
    anonymous = client.get(f"{API}/users/")

    assert forbidden.status_code == 403
    assert isinstance(error_detail(forbidden), str)
    assert_bearer_challenge(anonymous)


def test_a_user_reads_themself_and_a_superuser_reads_anyone(admin, user) -> None:
    """`GET /users/{id}` | the user themself or a superuser | 200 user."""
    own = user.client.get(f"{API}/users/{user.id}")
    by_admin = admin.client.get(f"{API}/users/{user.id}")

    assert own.status_code == 200
    assert by_admin.status_code == 200
    assert own.json() == by_admin.json()
    assert_user(own.json())


def test_403_for_another_user_does_not_reveal_whether_the_id_exists(
    user, other_user
) -> None:
    """`GET /users/{id}` ... 403 for anyone else (decided before the lookup, so it
    does not reveal whether the id exists)."""
    existing = user.client.get(f"{API}/users/{other_user.id}")
    missing = user.client.get(f"{API}/users/{MISSING_ID}")

    assert existing.status_code == 403
    assert missing.status_code == 403
    assert existing.json() == missing.json()


def test_a_superuser_asking_for_a_missing_id_gets_404(admin, client) -> None:
    """`GET /users/{id}` ... 404 for a superuser asking for a missing id; 401."""
    missing = admin.client.get(f"{API}/users/{MISSING_ID}")
    anonymous = client.get(f"{API}/users/{admin.id}")

    assert missing.status_code == 404
    error_detail(missing)
    assert_bearer_challenge(anonymous)


def test_a_user_updates_their_own_fields(user, client: httpx.Client) -> None:
    """`PATCH /users/{id}` | the user themself ... | 200 user. Writable by the user:
    `email`, `full_name`, `password` (min 8)."""
    new_email = unique_email()

    response = user.client.patch(
        f"{API}/users/{user.id}",
        json={"email": new_email, "full_name": "New Name", "password": "new-pass-9"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert_user(body)
    assert body["email"] == new_email
    assert body["full_name"] == "New Name"
    assert "new-pass-9" not in response.text
    assert log_in(client, new_email, "new-pass-9")["token_type"] == "bearer"
    old = client.post(
        f"{API}/auth/login", data={"username": new_email, "password": user.password}
    )
    assert old.status_code == 401


def test_updated_at_moves_on_a_change(user) -> None:
    """User representation: ... `"created_at", "updated_at"` (a careful client
    expects `updated_at` to move when the record changes)."""
    before = user.client.get(f"{API}/users/me").json()
    time.sleep(0.01)

    after = user.client.patch(f"{API}/users/{user.id}", json={"full_name": "Changed"})

    assert after.status_code == 200
    assert after.json()["updated_at"] != before["updated_at"]
    assert after.json()["created_at"] == before["created_at"]


def test_an_empty_patch_changes_nothing(user) -> None:
    """`PATCH /users/{id}` | 200 user (an empty PATCH writes nothing: `updated_at`
    unchanged, as a careful REST client expects)."""
    before = user.client.get(f"{API}/users/me").json()
    time.sleep(0.01)

    response = user.client.patch(f"{API}/users/{user.id}", json={})

    assert response.status_code == 200
    assert response.json() == before


def test_another_users_patch_is_not_authorized(user, other_user) -> None:
    """`PATCH /users/{id}` | the user themself or a superuser | ... | 403
    `{"detail": "Not authorized"}`."""
    response = user.client.patch(
        f"{API}/users/{other_user.id}", json={"full_name": "Hijacked"}
    )
    missing = user.client.patch(f"{API}/users/{MISSING_ID}", json={"full_name": "X"})

    assert response.status_code == 403
    assert response.json() == {"detail": "Not authorized"}
    assert missing.status_code == 403
    unchanged = other_user.client.get(f"{API}/users/me").json()
    assert unchanged["full_name"] != "Hijacked"


def test_patch_of_a_missing_user_by_a_superuser_is_404(admin, client) -> None:
    """`PATCH /users/{id}` | ... | 401; ... 404."""
    missing = admin.client.patch(f"{API}/users/{MISSING_ID}", json={"full_name": "X"})
    anonymous = client.patch(f"{API}/users/{admin.id}", json={"full_name": "X"})

    assert missing.status_code == 404
    error_detail(missing)
    assert_bearer_challenge(anonymous)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"full_name": {"a": 1}}, "full_name"),
        ({"email": None}, "email"),
    ],
    ids=["bad-email", "short-password", "full-name-object", "email-null"],
)
def test_patch_with_a_bad_field_names_it(user, body: dict, field: str, observe) -> None:
    """`PATCH /users/{id}` | ... | 400/422 bad fields."""
    response = user.client.patch(f"{API}/users/{user.id}", json=body)

    assert_validation_error(response, field, observe)
    assert user.client.get(f"{API}/users/me").json()["email"] == user.email


def test_patch_to_a_registered_email_in_another_case_is_refused(
    user, other_user, observe
) -> None:
    """Emails are ... unique without regard to case."""
    response = user.client.patch(
        f"{API}/users/{user.id}", json={"email": other_user.email.upper()}
    )

    assert response.status_code in (400, 409, 422), response.text
    error_detail(response)
    observe("patch to a taken email status", response.status_code)
    assert user.client.get(f"{API}/users/me").json()["email"] == user.email


def test_a_user_can_never_raise_their_own_privileges(user, observe) -> None:
    """Writable only by a superuser: `is_active`, `is_superuser`. A non-superuser can
    never raise their own privileges, whatever the body holds."""
    response = user.client.patch(
        f"{API}/users/{user.id}",
        json={"is_superuser": True, "is_active": False, "full_name": "Sneaky"},
    )

    observe("privileged fields from a user status", response.status_code)
    assert response.status_code in (200, 400, 403, 422), response.text
    me = user.client.get(f"{API}/users/me")
    assert me.status_code == 200
    assert me.json()["is_superuser"] is False
    assert me.json()["is_active"] is True
    assert user.client.get(f"{API}/users/").status_code == 403


def test_a_superuser_grants_and_revokes_privileges(admin, user) -> None:
    """Writable only by a superuser: `is_active`, `is_superuser`."""
    grant = admin.client.patch(f"{API}/users/{user.id}", json={"is_superuser": True})

    assert grant.status_code == 200
    assert grant.json()["is_superuser"] is True
    assert user.client.get(f"{API}/users/").status_code == 200
    revoke = admin.client.patch(f"{API}/users/{user.id}", json={"is_superuser": False})
    assert revoke.json()["is_superuser"] is False
    assert user.client.get(f"{API}/users/").status_code == 403


def test_a_superuser_deletes_a_user(admin, user, client: httpx.Client) -> None:
    """`DELETE /users/{id}` | superuser | 204."""
    response = admin.client.delete(f"{API}/users/{user.id}")

    assert response.status_code == 204
    assert response.content == b""
    assert admin.client.get(f"{API}/users/{user.id}").status_code == 404
    login = client.post(
        f"{API}/auth/login", data={"username": user.email, "password": user.password}
    )
    assert login.status_code == 401


def test_delete_errors(admin, user, other_user, client: httpx.Client) -> None:
    """`DELETE /users/{id}` | superuser | ... | 401, 403, 404."""
    anonymous = client.delete(f"{API}/users/{other_user.id}")
    by_user = user.client.delete(f"{API}/users/{other_user.id}")
    themself = user.client.delete(f"{API}/users/{user.id}")
    missing = admin.client.delete(f"{API}/users/{MISSING_ID}")

    assert_bearer_challenge(anonymous)
    assert by_user.status_code == 403
    assert themself.status_code == 403
    assert missing.status_code == 404
    for response in (by_user, themself, missing):
        error_detail(response)
    assert admin.client.get(f"{API}/users/{other_user.id}").status_code == 200
