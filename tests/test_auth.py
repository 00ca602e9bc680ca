"""Login, refresh and logout (`/api/v1/auth/`), and who the bearer token lets in."""

import http.client
import threading
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from urllib.parse import urlencode

import jwt
import orjson
import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from items.models import Item
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.http import send_request
from users.services import token_pair_issue

TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}
BAD_CREDENTIALS = {"detail": "Incorrect email or password"}
BAD_REFRESH = {"detail": "Invalid or expired refresh token"}
REGISTERED_CLAIMS = {"sub", "iat", "exp", "jti", "token_type", "sid"}


def claims(token: str) -> dict:
    """Return a JWT's claims after checking its signature with the server's key."""
    return jwt.decode(token, settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])


def login_form(client: APIClient, **fields: str):
    """POST the OAuth2 password form, as Swagger UI and OAuth2 clients do."""
    return client.post(
        "/api/v1/auth/login",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


def refresh(client: APIClient, token: str):
    """POST a refresh token to /refresh."""
    return client.post("/api/v1/auth/refresh", {"refresh_token": token}, format="json")


def me(token: str):
    """GET /users/me with a bearer token."""
    return APIClient().get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_bearer_401(response) -> None:
    """A 401 JSON error that asks for a bearer token."""
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


# Login ---------------------------------------------------------------------------


def test_login_with_oauth2_form_answers_a_working_token_pair(api_client, user):
    response = login_form(api_client, username=user.email, password=DEFAULT_PASSWORD)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    assert me(body["access_token"]).json()["email"] == user.email


@pytest.mark.parametrize("field", ["username", "email"])
def test_login_with_json_username_or_email(api_client, user, field):
    response = api_client.post(
        "/api/v1/auth/login",
        {field: user.email, "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    assert me(response.json()["access_token"]).json()["id"] == user.id


def test_login_accepts_swagger_oauth2_extra_fields(api_client, user):
    response = login_form(
        api_client,
        grant_type="password",
        username=user.email,
        password=DEFAULT_PASSWORD,
        scope="",
        client_id="swagger",
        client_secret="",
    )

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == TOKEN_KEYS


def test_login_refuses_a_grant_type_other_than_password(api_client, user):
    response = login_form(
        api_client,
        grant_type="client_credentials",
        username=user.email,
        password=DEFAULT_PASSWORD,
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "grant_type" in response.json()["detail"]
    assert not OutstandingToken.objects.exists()


def test_login_ignores_the_case_of_the_email(api_client, user):
    response = login_form(
        api_client, username=user.email.upper(), password=DEFAULT_PASSWORD
    )

    assert response.status_code == HTTPStatus.OK


def test_unknown_email_and_wrong_password_answer_the_same(api_client, user):
    wrong_password = login_form(api_client, username=user.email, password="x" * 12)
    unknown_email = login_form(
        api_client, username="nobody@example.com", password="x" * 12
    )

    for response in (wrong_password, unknown_email):
        assert_bearer_401(response)
        assert response.json() == BAD_CREDENTIALS
    assert wrong_password.content == unknown_email.content
    assert not OutstandingToken.objects.exists()


class CountingHasher(MD5PasswordHasher):
    """The test suite's MD5 hasher, counting the hashes it verifies."""

    verified = 0

    def verify(self, password: str, encoded: str) -> bool:
        """Count, then verify."""
        type(self).verified += 1
        return super().verify(password, encoded)


def test_unknown_email_costs_one_hash_check_like_a_wrong_password(
    api_client, user, settings
):
    # Time is not measured in tests: the same work (one hash verified) is.
    settings.PASSWORD_HASHERS = ["tests.test_auth.CountingHasher"]
    counts = []
    for email in (user.email, "nobody@example.com", "NOBODY@example.com"):
        CountingHasher.verified = 0
        login_form(api_client, username=email, password="wrong password")
        counts.append(CountingHasher.verified)

    assert counts == [1, 1, 1]


def test_inactive_user_is_refused_only_after_the_right_password(api_client, db):
    user = UserFactory.create(is_active=False)

    right = login_form(api_client, username=user.email, password=DEFAULT_PASSWORD)
    wrong = login_form(api_client, username=user.email, password="wrong password")

    assert right.status_code == HTTPStatus.BAD_REQUEST
    assert right.json() == {"detail": "Inactive user"}
    assert_bearer_401(wrong)
    assert wrong.json() == BAD_CREDENTIALS
    assert not OutstandingToken.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"", "application/json", id="empty-json"),
        pytest.param(b"{", "application/json", id="malformed-json"),
        pytest.param(b"[1, 2]", "application/json", id="json-list"),
        pytest.param(b'{"password": "x"}', "application/json", id="no-username"),
        pytest.param(b'{"username": "a@b.c"}', "application/json", id="no-password"),
        pytest.param(
            b'{"username": "a@b.c", "password": {"x": 1}}',
            "application/json",
            id="password-object",
        ),
        pytest.param(
            orjson.dumps({"username": "a" * 100_000, "password": "x"}),
            "application/json",
            id="huge-username",
        ),
        pytest.param(
            orjson.dumps({"username": "a@b.c", "password": "x" * 10_000}),
            "application/json",
            id="huge-password",
        ),
        pytest.param(
            orjson.dumps({"username": "a\x00@b.c", "password": "x"}),
            "application/json",
            id="nul-byte",
        ),
        pytest.param(
            b'{"username": ' + b"[" * 5000 + b"]" * 5000 + b', "password": "x"}',
            "application/json",
            id="deeply-nested",
        ),
        pytest.param(b"username=a%00b&password=x", "application/x-www-form-urlencoded",
                     id="form-nul-byte"),
    ],
)  # fmt: skip
def test_login_refuses_bad_bodies_with_a_json_400(api_client, user, body, content_type):
    response = api_client.generic(
        "POST", "/api/v1/auth/login", body, content_type=content_type
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "detail" in response.json()
    assert not OutstandingToken.objects.exists()


def test_login_refuses_a_body_of_another_content_type_with_a_json_415(api_client, user):
    response = api_client.generic(
        "POST", "/api/v1/auth/login", b"<xml/>", content_type="application/xml"
    )

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert "detail" in response.json()
    assert not OutstandingToken.objects.exists()


def test_failed_logins_never_log_the_password(api_client, user, caplog):
    secret = "hunter2-never-logged"

    login_form(api_client, username=user.email, password=secret)
    login_form(api_client, username="nobody@example.com", password=secret)
    api_client.post(
        "/api/v1/auth/login", {"username": secret, "password": secret}, format="json"
    )

    assert secret not in caplog.text


def test_tokens_carry_registered_claims_a_session_and_the_configured_lifetimes(
    user,
):
    tokens = token_pair_issue(user=user)

    access = claims(tokens["access_token"])
    refresh_claims = claims(tokens["refresh_token"])
    assert set(access) == set(refresh_claims) == REGISTERED_CLAIMS
    assert access["token_type"] == "access"
    assert refresh_claims["token_type"] == "refresh"
    assert access["sub"] == refresh_claims["sub"] == str(user.id)  # as the guide's
    assert access["sid"] == refresh_claims["sid"]
    assert access["jti"] != refresh_claims["jti"]
    access_lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    refresh_lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds()
    assert tokens["expires_in"] == access_lifetime
    assert isinstance(access["exp"], int)
    assert access_lifetime - 1 < access["exp"] - access["iat"] <= access_lifetime
    assert (
        refresh_lifetime - 1
        < refresh_claims["exp"] - refresh_claims["iat"]
        <= (refresh_lifetime)
    )


def test_two_logins_are_two_sessions_and_a_refresh_stays_in_its_session(
    api_client, user
):
    first = login_form(api_client, username=user.email, password=DEFAULT_PASSWORD)
    second = login_form(api_client, username=user.email, password=DEFAULT_PASSWORD)
    refreshed = refresh(api_client, first.json()["refresh_token"])

    first_sid = claims(first.json()["refresh_token"])["sid"]
    assert claims(second.json()["refresh_token"])["sid"] != first_sid
    assert claims(refreshed.json()["refresh_token"])["sid"] == first_sid
    assert claims(refreshed.json()["access_token"])["sid"] == first_sid


# Refresh -------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_token_is_refused(api_client, user):
    old = token_pair_issue(user=user)["refresh_token"]

    first = refresh(api_client, old)
    works = me(first.json()["access_token"])
    again = refresh(api_client, old)

    assert first.status_code == HTTPStatus.OK
    new = first.json()
    assert set(new) == TOKEN_KEYS
    assert new["refresh_token"] != old
    assert works.json()["id"] == user.id
    assert_bearer_401(again)
    assert again.json() == BAD_REFRESH  # and the session ends: tests/test_sessions.py


def test_refresh_takes_json_only_and_a_form_body_leaves_the_token_usable(
    api_client, user
):
    token = token_pair_issue(user=user)["refresh_token"]

    form = api_client.post(
        "/api/v1/auth/refresh",
        urlencode({"refresh_token": token}),
        content_type="application/x-www-form-urlencoded",
    )
    json = api_client.post("/api/v1/auth/refresh", {"refresh_token": token})

    assert form.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert "detail" in form.json()
    assert json.status_code == HTTPStatus.OK


def test_refresh_of_a_deleted_users_token_is_401_not_500(api_client, user):
    token = token_pair_issue(user=user)["refresh_token"]
    user.delete()

    response = refresh(api_client, token)

    assert_bearer_401(response)
    assert response.json() == BAD_REFRESH


def test_refresh_of_a_deactivated_users_token_is_401(api_client, user):
    token = token_pair_issue(user=user)["refresh_token"]
    user.is_active = False
    user.save()

    response = refresh(api_client, token)

    assert_bearer_401(response)


def test_refresh_is_refused_after_a_password_change(api_client, user):
    tokens = token_pair_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    changed = client.patch(
        f"/api/v1/users/{user.id}", {"password": "a new password 42"}, format="json"
    )

    assert changed.status_code == HTTPStatus.OK
    assert_bearer_401(refresh(api_client, tokens["refresh_token"]))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, HTTPStatus.BAD_REQUEST),
        ({"refresh_token": ""}, HTTPStatus.BAD_REQUEST),
        ({"refresh_token": ["a", "b"]}, HTTPStatus.BAD_REQUEST),
        ({"refresh_token": "x" * 5000}, HTTPStatus.BAD_REQUEST),
        ({"refresh_token": "not-a-jwt"}, HTTPStatus.UNAUTHORIZED),
        ({"refresh_token": "a.b.c"}, HTTPStatus.UNAUTHORIZED),
        ({"refresh_token": "\u00e9\u00e9.\u00e9.\u00e9"}, HTTPStatus.UNAUTHORIZED),
    ],
)
def test_refresh_refuses_bad_bodies(api_client, db, body, status):
    response = api_client.post("/api/v1/auth/refresh", body, format="json")

    assert response.status_code == status
    assert "detail" in response.json()
    if status == HTTPStatus.UNAUTHORIZED:
        assert response["WWW-Authenticate"] == "Bearer"
    assert not OutstandingToken.objects.exists()


# Logout --------------------------------------------------------------------------


def test_logout_revokes_the_refresh_token_and_is_idempotent(user_client, user):
    token = token_pair_issue(user=user)["refresh_token"]

    first = user_client.post("/api/v1/auth/logout", {"refresh_token": token})
    second = user_client.post("/api/v1/auth/logout", {"refresh_token": token})

    assert first.status_code == HTTPStatus.NO_CONTENT
    assert first.content == b""
    assert second.status_code == HTTPStatus.NO_CONTENT
    assert_bearer_401(refresh(APIClient(), token))


def test_logout_of_a_rotated_token_is_a_204(user_client, user, api_client):
    token = token_pair_issue(user=user)["refresh_token"]
    refresh(api_client, token)

    response = user_client.post("/api/v1/auth/logout", {"refresh_token": token})

    assert response.status_code == HTTPStatus.NO_CONTENT


def test_logout_needs_a_bearer_token(api_client, user):
    token = token_pair_issue(user=user)["refresh_token"]

    response = api_client.post("/api/v1/auth/logout", {"refresh_token": token})

    assert_bearer_401(response)
    assert refresh(api_client, token).status_code == HTTPStatus.OK


def test_logout_refuses_another_users_token_and_leaves_it_valid(user_client):
    other = UserFactory.create()
    token = token_pair_issue(user=other)["refresh_token"]

    response = user_client.post("/api/v1/auth/logout", {"refresh_token": token})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"detail": "This refresh token belongs to another user"}
    assert refresh(APIClient(), token).status_code == HTTPStatus.OK


def test_logout_with_an_invalid_token_is_a_400_not_a_401(user_client, user):
    access = token_pair_issue(user=user)["access_token"]

    for token in ("garbage", access, "a.b.c"):
        response = user_client.post("/api/v1/auth/logout", {"refresh_token": token})

        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response.json() == BAD_REFRESH


def test_logout_without_a_token_names_the_field(user_client):
    response = user_client.post("/api/v1/auth/logout", {})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "refresh_token" in response.json()["detail"]


# Bearer authentication -----------------------------------------------------------


def test_current_user_costs_one_query(user_client, user, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = user_client.get("/api/v1/users/me")

    assert response.json()["id"] == user.id


def test_a_user_deactivated_after_login_is_refused_on_the_next_request(user):
    access = token_pair_issue(user=user)["access_token"]
    assert me(access).status_code == HTTPStatus.OK

    user.is_active = False
    user.save()

    assert_bearer_401(me(access))


def test_a_deleted_users_access_token_is_refused(user):
    access = token_pair_issue(user=user)["access_token"]
    user.delete()

    assert_bearer_401(me(access))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/users/me"),
        ("get", "/api/v1/users/"),
        ("get", "/api/v1/users/1"),
        ("patch", "/api/v1/users/1"),
        ("delete", "/api/v1/users/1"),
        ("get", "/api/v1/items/"),
        ("post", "/api/v1/items/"),
        ("get", "/api/v1/items/1"),
        ("put", "/api/v1/items/1"),
        ("patch", "/api/v1/items/1"),
        ("delete", "/api/v1/items/1"),
        ("post", "/api/v1/auth/logout"),
    ],
)
def test_no_credentials_is_a_401_asking_for_a_bearer_token(
    api_client, db, method, path
):
    response = getattr(api_client, method)(path, {}, format="json")

    assert_bearer_401(response)


def test_an_admin_session_cookie_cannot_call_the_api(superuser):
    browser = Client()
    logged_in = browser.post(
        "/admin/login/", {"username": superuser.email, "password": DEFAULT_PASSWORD}
    )
    assert logged_in.status_code == HTTPStatus.FOUND  # to the admin index
    assert browser.session["_auth_user_id"] == str(superuser.pk)

    read = browser.get("/api/v1/users/me")
    write = browser.post(
        "/api/v1/items/", {"title": "via cookie"}, content_type="application/json"
    )

    assert_bearer_401(read)
    assert_bearer_401(write)
    assert not Item.objects.exists()


# Against a live server -----------------------------------------------------------


def call(method: str, url: str, body: dict | None = None, token: str = ""):
    """Send a JSON request; return (status, headers, parsed body or None)."""
    status, headers, raw = send_request(method, url, body=body, token=token)
    return status, headers, orjson.loads(raw) if raw else None


def refresh_racing(url: str, token: str, racers: int) -> list[int]:
    """POST one refresh token from several threads at once; return the statuses.

    Each thread connects first and sends only when all are connected, so that the
    requests reach the server's workers together.
    """
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None, url
    body = orjson.dumps({"refresh_token": token})
    connections = [
        http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        for _ in range(racers)
    ]
    for connection in connections:
        connection.connect()
    start = threading.Barrier(racers)
    statuses: list[int] = []

    def race(connection: http.client.HTTPConnection) -> None:
        start.wait()
        connection.request(
            "POST", parts.path, body, {"Content-Type": "application/json"}
        )
        statuses.append(connection.getresponse().status)
        connection.close()

    threads = [threading.Thread(target=race, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.live
@pytest.mark.parametrize("gunicorn_server", [{"workers": 4}], indirect=True)
def test_concurrent_refreshes_of_one_token_exactly_one_succeeds(gunicorn_server):
    user = UserFactory.create()
    url = f"{gunicorn_server.url}/api/v1/auth/refresh"
    racers = 8

    for _ in range(5):  # a few rounds, each a fresh token, to give the race chances
        token = token_pair_issue(user=user)["refresh_token"]

        statuses = refresh_racing(url, token, racers)

        assert sorted(statuses) == [200] + [401] * (racers - 1)


@pytest.mark.live
def test_lifetimes_follow_the_settings_of_the_environment(live_server_factory):
    user = UserFactory.create()
    server = live_server_factory(
        extra_env={"ACCESS_TOKEN_MINUTES": "2", "REFRESH_TOKEN_DAYS": "1"}
    )

    status, _, body = call(
        "POST",
        f"{server.url}/api/v1/auth/login",
        {"username": user.email, "password": DEFAULT_PASSWORD},
    )

    assert status == HTTPStatus.OK
    assert body["expires_in"] == 120
    access = claims(body["access_token"])
    assert 119 < access["exp"] - access["iat"] <= 120
    refresh_claims = claims(body["refresh_token"])
    assert 86399 < refresh_claims["exp"] - refresh_claims["iat"] <= 86400


@pytest.mark.live
def test_database_down_is_a_503_for_login_refresh_and_bearer_never_a_401(
    live_server_factory, user
):
    tokens = token_pair_issue(user=user)
    server = live_server_factory(
        extra_env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere"}
    )
    secret = "hunter2-never-logged"

    answers = [
        call(
            "POST",
            f"{server.url}/api/v1/auth/login",
            {"username": user.email, "password": secret},
        ),
        call(
            "POST",
            f"{server.url}/api/v1/auth/refresh",
            {"refresh_token": tokens["refresh_token"]},
        ),
        call("GET", f"{server.url}/api/v1/users/me", token=tokens["access_token"]),
    ]

    for status, headers, body in answers:
        assert status == HTTPStatus.SERVICE_UNAVAILABLE
        assert headers["Retry-After"]
        assert set(body) == {"detail"}
    server.stop()
    log = server.log.read_text()
    assert secret not in log
    assert tokens["refresh_token"] not in log
    assert tokens["access_token"] not in log


def test_login_and_refresh_ignore_a_stale_bearer_header(api_client, user):
    # Swagger UI keeps sending the last Authorization header; it must not block.
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    logged_in = login_form(api_client, username=user.email, password=DEFAULT_PASSWORD)
    refreshed = refresh(api_client, logged_in.json()["refresh_token"])

    assert logged_in.status_code == HTTPStatus.OK
    assert refreshed.status_code == HTTPStatus.OK
