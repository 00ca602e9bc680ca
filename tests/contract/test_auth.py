"""Contract: Auth, `/api/v1/auth/`."""

import base64
import hashlib
import hmac
import statistics
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.contract.helpers import (
    API,
    TOKEN_KEYS,
    assert_bearer_challenge,
    authorized,
    error_detail,
    is_json,
    new_client,
    token_claims,
    token_header,
    unique_email,
)

WRONG = {"detail": "Incorrect email or password"}


def assert_token_pair(response: httpx.Response) -> dict:
    """Check a 200 token-pair body and return it."""
    assert response.status_code == 200, response.text
    assert is_json(response)
    body = response.json()
    assert set(body) == set(TOKEN_KEYS)
    assert body["token_type"] == "bearer"
    assert isinstance(body["expires_in"], int)
    assert not isinstance(body["expires_in"], bool)
    assert body["expires_in"] > 0
    return body


def seconds_left(token: str) -> float:
    """Return how many seconds a JWT has before its `exp`."""
    return token_claims(token)["exp"] - datetime.now(UTC).timestamp()


def test_login_with_the_oauth2_form(client: httpx.Client, user) -> None:
    """`POST /login` | form-encoded `username`, `password` (OAuth2 password flow:
    `username` is the email) | 200 `{"access_token", "refresh_token", "token_type":
    "bearer", "expires_in": <seconds>}`."""
    response = client.post(
        f"{API}/auth/login", data={"username": user.email, "password": user.password}
    )

    body = assert_token_pair(response)
    me = authorized(body["access_token"]).get(f"{API}/users/me")
    assert me.status_code == 200
    assert me.json()["id"] == user.id


@pytest.mark.parametrize("key", ["username", "email"])
def test_login_with_json(client: httpx.Client, user, key: str) -> None:
    """`POST /login` | **or** JSON `{"username" or "email", "password"}` | 200 token
    pair."""
    response = client.post(
        f"{API}/auth/login", json={key: user.email, "password": user.password}
    )

    assert_token_pair(response)


def test_access_tokens_are_hs256_jwts_for_30_minutes(
    client: httpx.Client, user, observe
) -> None:
    """Access tokens are JWT (HS256 by default), 30 minutes; refresh tokens 7 days;
    both configurable."""
    form = {"username": user.email, "password": user.password}

    body = assert_token_pair(client.post(f"{API}/auth/login", data=form))

    assert token_header(body["access_token"])["alg"] == "HS256"
    assert body["expires_in"] == 30 * 60
    assert abs(seconds_left(body["access_token"]) - 30 * 60) < 120
    assert abs(seconds_left(body["refresh_token"]) - 7 * 24 * 3600) < 120
    observe("access token claims", sorted(token_claims(body["access_token"])))


def test_refresh_rotates_the_refresh_token(client: httpx.Client, user, observe) -> None:
    """`POST /refresh` | JSON `{"refresh_token"}` | 200, same shape; the refresh token
    is rotated and the old one can't be used again."""
    old = user.refresh_token

    response = client.post(f"{API}/auth/refresh", json={"refresh_token": old})

    body = assert_token_pair(response)
    assert body["refresh_token"] != old
    with authorized(body["access_token"]) as session:
        assert session.get(f"{API}/users/me").json()["id"] == user.id
    again = client.post(f"{API}/auth/refresh", json={"refresh_token": old})
    assert again.status_code in (400, 401), again.text
    error_detail(again)
    observe("reused refresh token status", again.status_code)


def test_logout_revokes_the_refresh_token(client: httpx.Client, user, observe) -> None:
    """`POST /logout` | JSON `{"refresh_token"}` (bearer auth) | 204; that refresh
    token is revoked."""
    response = user.client.post(
        f"{API}/auth/logout", json={"refresh_token": user.refresh_token}
    )

    assert response.status_code == 204
    assert response.content == b""
    refresh = client.post(
        f"{API}/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert refresh.status_code in (400, 401), refresh.text
    observe("revoked refresh token status", refresh.status_code)


def test_logout_needs_the_bearer(client: httpx.Client, user) -> None:
    """`POST /logout` | JSON `{"refresh_token"}` (bearer auth)."""
    response = client.post(
        f"{API}/auth/logout", json={"refresh_token": user.refresh_token}
    )

    assert_bearer_challenge(response)
    refresh = client.post(
        f"{API}/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert refresh.status_code == 200


def test_wrong_password_and_unknown_email_say_the_same(
    client: httpx.Client, user
) -> None:
    """Wrong email or password: 401 `{"detail": "Incorrect email or password"}`, the
    same text ... whether or not the email exists."""
    wrong_password = client.post(
        f"{API}/auth/login", data={"username": user.email, "password": "not-it-123"}
    )
    unknown_email = client.post(
        f"{API}/auth/login", data={"username": unique_email(), "password": "x" * 12}
    )
    wrong_json = client.post(
        f"{API}/auth/login", json={"username": user.email, "password": "not-it-123"}
    )

    for response in (wrong_password, unknown_email, wrong_json):
        assert response.status_code == 401, response.text
        assert response.json() == WRONG


def test_wrong_login_takes_about_the_same_time_either_way(
    client: httpx.Client, user
) -> None:
    """Wrong email or password: ... about the same time whether or not the email
    exists (a generous bound: a missing hash check would be ~100x faster)."""

    def median_seconds(email: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            response = client.post(
                f"{API}/auth/login", data={"username": email, "password": "wrong-pw-1"}
            )
            times.append(time.perf_counter() - start)
            assert response.status_code == 401
        return statistics.median(times)

    known = median_seconds(user.email)
    unknown = median_seconds(unique_email())

    assert unknown > known / 4, (known, unknown)
    assert known > unknown / 4, (known, unknown)


def test_inactive_user_gets_400_after_a_correct_password(
    client: httpx.Client, admin, user
) -> None:
    """Login of an inactive user: 400 `{"detail": "Inactive user"}` (only after a
    correct password)."""
    deactivate = admin.client.patch(f"{API}/users/{user.id}", json={"is_active": False})
    assert deactivate.status_code == 200, deactivate.text

    right = client.post(
        f"{API}/auth/login", data={"username": user.email, "password": user.password}
    )
    wrong = client.post(
        f"{API}/auth/login", data={"username": user.email, "password": "not-it-123"}
    )

    assert right.status_code == 400
    assert right.json() == {"detail": "Inactive user"}
    assert wrong.status_code == 401
    assert wrong.json() == WRONG


def test_a_refresh_token_is_refused_as_an_access_token(user) -> None:
    """A refresh token is refused as an access token."""
    with authorized(user.refresh_token) as session:
        response = session.get(f"{API}/users/me")

    assert_bearer_challenge(response)


def test_an_access_token_is_refused_as_a_refresh_token(
    client: httpx.Client, user, observe
) -> None:
    """A refresh token is refused as an access token and vice versa."""
    response = client.post(
        f"{API}/auth/refresh", json={"refresh_token": user.access_token}
    )

    assert response.status_code in (400, 401), response.text
    error_detail(response)
    observe("access token as refresh status", response.status_code)


def test_an_access_token_is_refused_at_logout(user, observe) -> None:
    """A refresh token is refused as an access token and vice versa (logout takes a
    refresh token)."""
    response = user.client.post(
        f"{API}/auth/logout", json={"refresh_token": user.access_token}
    )

    assert response.status_code in (400, 401, 403, 422), response.text
    error_detail(response)
    observe("access token at logout status", response.status_code)


def tampered(token: str) -> str:
    """Return the token with one character of its signature changed."""
    head, _, signature = token.rpartition(".")
    swap = "A" if signature[0] != "A" else "B"
    return f"{head}.{swap}{signature[1:]}"


def unsigned(token: str) -> str:
    """Return the token's claims under `alg: none`, without a signature."""
    head, payload, _ = token.split(".")
    return f"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}."


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
        "Token {access}",
        "Bearer {tampered}",
        "Bearer {unsigned}",
        "Bearer {access} extra",
    ],
    ids=[
        "missing",
        "empty",
        "bare-scheme",
        "not-a-jwt",
        "basic",
        "other-scheme",
        "tampered",
        "alg-none",
        "two-tokens",
    ],
)
def test_a_bad_bearer_is_401_with_the_challenge(user, authorization) -> None:
    """Protected endpoints take `Authorization: Bearer <access_token>`. Missing,
    malformed, expired, tampered or revoked: 401 with `WWW-Authenticate: Bearer`."""
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.format(
            access=user.access_token,
            tampered=tampered(user.access_token),
            unsigned=unsigned(user.access_token),
        )

    with new_client(**headers) as c:
        response = c.get(f"{API}/users/me")

    assert_bearer_challenge(response)


def test_a_token_signed_with_another_key_is_refused(user) -> None:
    """Missing, malformed, expired, tampered or revoked: 401 with `WWW-Authenticate:
    Bearer` (a token forged with a guessed key)."""
    head, payload, _ = user.access_token.split(".")
    signature = hmac.new(b"secret", f"{head}.{payload}".encode(), hashlib.sha256)
    forged = base64.urlsafe_b64encode(signature.digest()).rstrip(b"=").decode()

    with authorized(f"{head}.{payload}.{forged}") as session:
        response = session.get(f"{API}/users/me")

    assert_bearer_challenge(response)


def test_a_user_deactivated_after_login_is_refused(admin, user, observe) -> None:
    """A user deactivated after the token was issued is refused on the next
    request."""
    assert user.client.get(f"{API}/users/me").status_code == 200
    deactivate = admin.client.patch(f"{API}/users/{user.id}", json={"is_active": False})
    assert deactivate.status_code == 200

    response = user.client.get(f"{API}/users/me")

    assert response.status_code in (400, 401, 403), response.text
    error_detail(response)
    observe("deactivated user's token status", response.status_code)
    observe(
        "deactivated user's token challenge",
        response.headers.get("www-authenticate", ""),
    )


def test_a_deleted_users_token_is_refused(admin, user) -> None:
    """Missing, malformed, expired, tampered or revoked: 401 with `WWW-Authenticate:
    Bearer` (the token of a user who no longer exists)."""
    assert admin.client.delete(f"{API}/users/{user.id}").status_code == 204

    response = user.client.get(f"{API}/users/me")

    assert_bearer_challenge(response)


def test_login_without_a_password_is_a_validation_error(
    client: httpx.Client, observe
) -> None:
    """Validation errors: 400 or 422, and the body names each offending field."""
    response = client.post(f"{API}/auth/login", json={"username": unique_email()})

    assert response.status_code in (400, 401, 422), response.text
    error_detail(response)
    observe("login without password status", response.status_code)


def test_refresh_with_garbage_is_refused(client: httpx.Client, observe) -> None:
    """`POST /refresh` ... the refresh token is rotated (only a token this server
    issued refreshes)."""
    response = client.post(
        f"{API}/auth/refresh", json={"refresh_token": uuid.uuid4().hex}
    )

    assert response.status_code in (400, 401), response.text
    error_detail(response)
    observe("garbage refresh token status", response.status_code)
