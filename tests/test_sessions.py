"""Sessions end when they should: which event ends which access and refresh tokens.

Logout and the reuse of a rotated refresh token end one session (a login and its
refreshes); a password change, reset or admin-set password and a deactivation end
every session of the user. An ended access token is a 401 asking for a bearer token.
"""

import logging
import re
import uuid
from http import HTTPStatus
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, SuperuserFactory, UserFactory
from users.services import token_pair_issue

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"
NEW_PASSWORD = "a brand new passphrase"
DEAD_REDIS = "redis://127.0.0.1:1/0"

pytestmark = pytest.mark.django_db


def me(access_token: str):
    """GET /users/me with a bearer token."""
    return APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {access_token}")


def refresh(refresh_token: str):
    """Rotate a refresh token."""
    return APIClient().post(REFRESH, {"refresh_token": refresh_token})


def logout(access_token: str, refresh_token: str):
    """Log out a refresh token, authenticated by an access token."""
    return APIClient().post(
        LOGOUT,
        {"refresh_token": refresh_token},
        HTTP_AUTHORIZATION=f"Bearer {access_token}",
    )


def log_in(email: str, password: str = DEFAULT_PASSWORD) -> dict:
    """Log in with the JSON body; return the token pair."""
    response = APIClient().post(LOGIN, {"username": email, "password": password})
    assert response.status_code == HTTPStatus.OK
    return response.json()


def assert_ended(tokens: dict) -> None:
    """Both tokens of a pair are refused: the access token with a Bearer 401."""
    response = me(tokens["access_token"])
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)
    assert refresh(tokens["refresh_token"]).status_code == HTTPStatus.UNAUTHORIZED


def assert_alive(tokens: dict) -> None:
    """The access token of a pair works."""
    assert me(tokens["access_token"]).status_code == HTTPStatus.OK


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request, settings) -> str:
    """The revoked-session store: local memory, and the real Redis of the tests."""
    if request.param == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "core.cache.SharedClientRedisCache",
                "LOCATION": request.getfixturevalue("redis_url"),
                "KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # nothing shared, no flush
            }
        }
    return request.param


# Logout: that session ---------------------------------------------------------------


def test_logout_ends_that_sessions_access_token_and_no_other(user, shared_cache):
    session = log_in(user.email)
    other_session = log_in(user.email)

    response = logout(session["access_token"], session["refresh_token"])

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_ended(session)
    assert_alive(other_session)
    assert refresh(other_session["refresh_token"]).status_code == HTTPStatus.OK


def test_logout_ends_the_access_tokens_of_the_sessions_refreshes_too(user):
    session = log_in(user.email)
    refreshed = refresh(session["refresh_token"]).json()

    response = logout(refreshed["access_token"], refreshed["refresh_token"])

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert me(session["access_token"]).status_code == HTTPStatus.UNAUTHORIZED
    assert_ended(refreshed)


def test_logout_with_a_rotated_token_revokes_its_successor(user):
    session = log_in(user.email)
    successor = refresh(session["refresh_token"]).json()

    response = logout(successor["access_token"], session["refresh_token"])

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_ended(successor)


def test_logout_from_another_session_ends_the_body_tokens_session(user):
    session = log_in(user.email)
    other_session = log_in(user.email)

    response = logout(other_session["access_token"], session["refresh_token"])

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert_ended(session)
    assert_alive(other_session)


# Refresh-token reuse: that session (RFC 9700, 4.14.2) -----------------------------


def test_replaying_a_rotated_refresh_token_ends_its_whole_session(
    user, shared_cache, logs
):
    stolen = log_in(user.email)
    other_session = log_in(user.email)
    successor = refresh(stolen["refresh_token"]).json()
    successors_successor = refresh(successor["refresh_token"]).json()

    replay = refresh(stolen["refresh_token"])

    assert replay.status_code == HTTPStatus.UNAUTHORIZED
    assert replay["WWW-Authenticate"] == "Bearer"
    assert_ended(successors_successor)
    assert me(successor["access_token"]).status_code == HTTPStatus.UNAUTHORIZED
    assert_alive(other_session)
    assert refresh(other_session["refresh_token"]).status_code == HTTPStatus.OK
    warnings = [line for line in logs.lines() if line["level"] == "warning"]
    assert any("presented again" in line["event"] for line in warnings)
    assert any(f"of user {user.pk} ended" in line["event"] for line in warnings)
    assert stolen["refresh_token"] not in logs.text
    assert successors_successor["refresh_token"] not in logs.text


def test_a_refresh_token_that_was_never_issued_ends_no_session(user):
    session = log_in(user.email)
    forged = session["refresh_token"][:-4] + "AAAA"

    replay = refresh(forged)

    assert replay.status_code == HTTPStatus.UNAUTHORIZED
    assert_alive(session)
    assert refresh(session["refresh_token"]).status_code == HTTPStatus.OK


# Password change, reset, admin-set password: every session ------------------------


def test_password_change_ends_every_access_token_of_the_user(user):
    session = log_in(user.email)
    other_session = log_in(user.email)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access_token']}")

    changed = client.post(
        "/api/v1/users/me/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert changed.status_code == HTTPStatus.NO_CONTENT
    assert_ended(session)
    assert_ended(other_session)


def test_a_login_just_after_a_password_change_works_in_the_same_second(user):
    session = log_in(user.email)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access_token']}")
    client.post(
        "/api/v1/users/me/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )

    fresh = log_in(user.email, NEW_PASSWORD)

    assert_alive(fresh)
    assert refresh(fresh["refresh_token"]).status_code == HTTPStatus.OK


def test_a_password_set_by_patch_ends_every_access_token(user):
    session = log_in(user.email)
    other_session = log_in(user.email)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access_token']}")

    changed = client.patch(f"/api/v1/users/{user.pk}", {"password": NEW_PASSWORD})

    assert changed.status_code == HTTPStatus.OK
    assert_ended(session)
    assert_ended(other_session)


def test_a_profile_change_ends_no_session(user):
    session = log_in(user.email)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access_token']}")

    changed = client.patch(f"/api/v1/users/{user.pk}", {"full_name": "Someone Else"})

    assert changed.status_code == HTTPStatus.OK
    assert_alive(session)


def test_password_reset_ends_every_access_token_of_the_user(user, mailoutbox):
    session = log_in(user.email)
    APIClient().post("/api/v1/auth/password-recovery", {"email": user.email})
    link = re.search(r"https?://\S+", mailoutbox[0].body)
    assert link is not None, mailoutbox[0].body
    query = parse_qs(urlparse(link.group(0)).query)

    reset = APIClient().post(
        "/api/v1/auth/reset-password",
        {
            "uid": query["uid"][0],
            "token": query["token"][0],
            "new_password": NEW_PASSWORD,
        },
    )

    assert reset.status_code == HTTPStatus.OK
    assert_ended(session)
    assert_alive(log_in(user.email, NEW_PASSWORD))


def admin_client() -> Client:
    """A browser logged in to the admin as a new superuser."""
    client = Client()
    client.force_login(SuperuserFactory.create())
    return client


def test_a_password_set_in_the_admin_ends_every_access_token(user):
    session = log_in(user.email)

    response = admin_client().post(
        f"/admin/users/user/{user.pk}/password/",
        {
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    assert_ended(session)


def test_disabling_password_login_in_the_admin_ends_every_session(user):
    session = log_in(user.email)

    response = admin_client().post(
        f"/admin/users/user/{user.pk}/password/",
        {
            "usable_password": "false",
            "password1": "",
            "password2": "",
            "unset-password": "",  # the submit button that disables it
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert_ended(session)


# Deactivation: every session, and reactivation revives none ------------------------


def test_deactivating_by_the_api_ends_tokens_that_reactivation_does_not_revive(
    user, superuser_client
):
    session = log_in(user.email)

    off = superuser_client.patch(f"/api/v1/users/{user.pk}", {"is_active": False})
    on = superuser_client.patch(f"/api/v1/users/{user.pk}", {"is_active": True})

    assert off.status_code == on.status_code == HTTPStatus.OK
    assert_ended(session)
    assert_alive(log_in(user.email))


def test_deactivating_by_the_admin_action_ends_tokens_for_good(user):
    session = log_in(user.email)
    client = admin_client()

    for action in ("deactivate_users", "activate_users"):
        client.post(
            "/admin/users/user/", {"action": action, "_selected_action": [user.pk]}
        )

    assert_ended(session)


def test_deactivating_in_the_admin_change_form_ends_tokens_for_good(user):
    session = log_in(user.email)
    client = admin_client()
    form = {"email": user.email, "full_name": user.full_name, "is_superuser": ""}

    off = client.post(f"/admin/users/user/{user.pk}/change/", form)
    on = client.post(f"/admin/users/user/{user.pk}/change/", form | {"is_active": "on"})

    assert off.status_code == on.status_code == HTTPStatus.FOUND
    assert_ended(session)


def test_a_superuser_refused_deactivating_themself_keeps_their_sessions(superuser):
    session = log_in(superuser.email)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session['access_token']}")

    response = client.patch(f"/api/v1/users/{superuser.pk}", {"is_active": False})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert_alive(session)
    assert refresh(session["refresh_token"]).status_code == HTTPStatus.OK


# Cost and outages --------------------------------------------------------------------


def test_an_authenticated_request_still_costs_one_query(
    user, django_assert_num_queries
):
    session = log_in(user.email)
    logout(log_in(user.email)["access_token"], session["refresh_token"])
    alive = log_in(user.email)

    with django_assert_num_queries(1):
        ended = me(session["access_token"])
    with django_assert_num_queries(1):
        served = me(alive["access_token"])

    assert ended.status_code == HTTPStatus.UNAUTHORIZED
    assert served.status_code == HTTPStatus.OK


def test_with_redis_down_access_tokens_work_and_logout_still_revokes_the_refresh(
    user, settings, caplog
):
    session = log_in(user.email)
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.SharedClientRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    with caplog.at_level(logging.ERROR, logger="users.tokens"):
        served = me(session["access_token"])
        logged_out = logout(session["access_token"], session["refresh_token"])

    assert served.status_code == HTTPStatus.OK  # fail open: the API keeps serving
    assert logged_out.status_code == HTTPStatus.NO_CONTENT
    assert refresh(session["refresh_token"]).status_code == HTTPStatus.UNAUTHORIZED
    assert any("session revocations unreachable" in r.message for r in caplog.records)


def test_another_users_logout_ends_nothing(user):
    session = log_in(user.email)
    other = UserFactory.create()

    response = logout(
        token_pair_issue(user=other)["access_token"], session["refresh_token"]
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert_alive(session)
