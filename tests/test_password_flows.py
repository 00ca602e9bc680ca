"""Password change, recovery and reset; the expired-token clean-up job.

Jobs run eagerly here and mail goes to Django's locmem outbox; the recovery flow on a
real worker is in tests/test_celery_worker.py, a dead broker in test_redis_down.py.
"""

import os
import re
import subprocess
import sys
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)

from config.celery import app as celery_app
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.support import BASE_DIR
from tests.support.http import bearer
from tests.support.logs import capture_logs
from users.services import token_pair_issue
from users.tasks import flush_expired_tokens, send_password_reset_email

CHANGE = "/api/v1/users/me/password"
RECOVERY = "/api/v1/auth/password-recovery"
RESET = "/api/v1/auth/reset-password"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
NEW_PASSWORD = "a brand new passphrase"

pytestmark = pytest.mark.django_db


def log_in(email: str, password: str):
    """Log in with the JSON body."""
    return APIClient().post(LOGIN, {"username": email, "password": password})


def refresh(refresh_token: str):
    """Rotate a refresh token."""
    return APIClient().post(REFRESH, {"refresh_token": refresh_token})


def reset_link_params(message) -> dict[str, str]:
    """Return the uid and token of the reset link in an email."""
    url = re.search(r"https?://\S+", message.body)
    assert url is not None, message.body
    query = parse_qs(urlparse(url.group(0)).query)
    return {"uid": query["uid"][0], "token": query["token"][0]}


# Change ------------------------------------------------------------------------


def test_password_change_sets_the_new_password_and_revokes_refresh_tokens(user):
    other_session = token_pair_issue(user=user)
    client = bearer(APIClient(), user)

    response = client.post(
        CHANGE, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert log_in(user.email, NEW_PASSWORD).status_code == HTTPStatus.OK
    assert log_in(user.email, DEFAULT_PASSWORD).status_code == HTTPStatus.UNAUTHORIZED
    assert (
        refresh(other_session["refresh_token"]).status_code == HTTPStatus.UNAUTHORIZED
    )


def test_password_change_with_a_wrong_current_password_is_400(user):
    client = bearer(APIClient(), user)

    response = client.post(
        CHANGE, {"current_password": "not it at all", "new_password": NEW_PASSWORD}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "current_password" in response.json()["detail"]
    assert log_in(user.email, DEFAULT_PASSWORD).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("weak", "message"),
    [
        ("short", "This password is too short"),
        ("password123", "This password is too common"),
        ("4815162342", "This password is entirely numeric"),
        ("jane.doe.smith@example.com", "too similar to the email address"),
    ],
)
def test_password_change_to_a_weak_password_is_400_naming_the_validator(weak, message):
    user = UserFactory.create(email="jane.doe.smith@example.com")
    client = bearer(APIClient(), user)

    response = client.post(
        CHANGE, {"current_password": DEFAULT_PASSWORD, "new_password": weak}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert any(message in text for text in response.json()["detail"]["new_password"])
    assert log_in(user.email, DEFAULT_PASSWORD).status_code == HTTPStatus.OK


def test_password_change_needs_authentication(api_client):
    response = api_client.post(
        CHANGE, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"current_password": DEFAULT_PASSWORD},
        {"current_password": DEFAULT_PASSWORD, "new_password": "x" * 100_000},
        {"current_password": DEFAULT_PASSWORD, "new_password": "new\x00password!"},
        {"current_password": DEFAULT_PASSWORD, "new_password": {"a": 1}},
        {"current_password": ["a"], "new_password": NEW_PASSWORD},
        [DEFAULT_PASSWORD, NEW_PASSWORD],
    ],
)
def test_absurd_password_change_bodies_are_400_and_change_nothing(user, body):
    client = bearer(APIClient(), user)

    response = client.post(CHANGE, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "detail" in response.json()
    assert log_in(user.email, DEFAULT_PASSWORD).status_code == HTTPStatus.OK


def test_password_change_path_answers_with_a_trailing_slash_too(user):
    client = bearer(APIClient(), user)

    response = client.post(
        f"{CHANGE}/",
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == HTTPStatus.NO_CONTENT


# Recovery ----------------------------------------------------------------------


def test_password_recovery_emails_a_reset_link_to_a_registered_user(
    api_client, user, mailoutbox, settings
):
    settings.FRONTEND_URL = "https://app.example.org/"

    response = api_client.post(RECOVERY, {"email": user.email.upper()})

    assert response.status_code == HTTPStatus.ACCEPTED
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    assert "https://app.example.org/reset-password?uid=" in mailoutbox[0].body
    assert "48 hours" in mailoutbox[0].body


def test_the_console_mailer_writes_no_reset_link_to_stdout_or_the_logs(
    api_client, user, settings, capsys
):
    settings.EMAIL_BACKEND = "core.mail.ConsoleEmailBackend"
    settings.FRONTEND_URL = "https://app.example.org/"

    with capture_logs("console") as logs:
        response = api_client.post(RECOVERY, {"email": user.email})

    assert response.status_code == HTTPStatus.ACCEPTED
    written = logs.text + "".join(capsys.readouterr())
    assert "body withheld: 'Reset your password' to 1 recipient(s)" in written
    assert "reset-password" not in written
    assert "token=" not in written
    assert "uid=" not in written
    assert user.email not in written


def test_consolemail_url_selects_the_mailer_that_withholds_bodies():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.EMAIL_BACKEND)",
        ],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "x" * 50,
            "JWT_SIGNING_KEY": "y" * 50,
            "EMAIL_URL": "consolemail://",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip() == "core.mail.ConsoleEmailBackend", result.stderr


def test_reset_email_states_a_short_lifetime_in_minutes(
    api_client, user, mailoutbox, settings
):
    settings.PASSWORD_RESET_TIMEOUT = 1800

    api_client.post(RECOVERY, {"email": user.email})

    assert "within 30 minutes" in mailoutbox[0].body


@pytest.mark.parametrize("registered", ["nobody", "inactive"])
def test_password_recovery_for_an_unknown_or_inactive_email_is_the_same_202(
    api_client, user, mailoutbox, registered
):
    known = api_client.post(RECOVERY, {"email": user.email})
    mailoutbox.clear()
    email = "nobody@example.com"
    if registered == "inactive":
        email = UserFactory.create(is_active=False).email

    response = api_client.post(RECOVERY, {"email": email})

    assert response.status_code == HTTPStatus.ACCEPTED
    assert response.json() == known.json()
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_reset_job_queued_by_the_previous_release_is_still_sent(user, mailoutbox):
    # Messages queued before the upgrade carry the request_id argument it dropped.
    send_password_reset_email.apply(
        kwargs={"email": user.email, "request_id": "queued-earlier"}
    )

    assert [message.to for message in mailoutbox] == [[user.email]]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not an email"},
        {"email": ""},
        {"email": "a" * 300 + "@example.com"},
        {"email": "a\x00@example.com"},
        {"email": ["a@example.com"]},
        ["a@example.com"],
    ],
)
def test_bad_password_recovery_bodies_are_400(api_client, mailoutbox, body):
    response = api_client.post(RECOVERY, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "detail" in response.json()
    assert mailoutbox == []


# Reset -------------------------------------------------------------------------


def recover(api_client, user, mailoutbox) -> dict[str, str]:
    """Ask for a reset email and return the uid and token of its link."""
    api_client.post(RECOVERY, {"email": user.email})
    return reset_link_params(mailoutbox[-1])


def test_reset_password_sets_the_password_once_and_revokes_refresh_tokens(
    api_client, user, mailoutbox
):
    session = token_pair_issue(user=user)
    link = recover(api_client, user, mailoutbox)

    response = api_client.post(RESET, {**link, "new_password": NEW_PASSWORD})
    again = api_client.post(RESET, {**link, "new_password": "yet another passphrase"})

    assert response.status_code == HTTPStatus.OK
    assert "detail" in response.json()
    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert log_in(user.email, NEW_PASSWORD).status_code == HTTPStatus.OK
    assert refresh(session["refresh_token"]).status_code == HTTPStatus.UNAUTHORIZED


def test_reset_password_with_an_expired_link_is_400(
    api_client, user, mailoutbox, monkeypatch, settings
):
    link = recover(api_client, user, mailoutbox)
    issued = default_token_generator._now()
    later = issued + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)

    response = api_client.post(RESET, {**link, "new_password": NEW_PASSWORD})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert log_in(user.email, DEFAULT_PASSWORD).status_code == HTTPStatus.OK


def test_reset_link_of_one_user_does_not_reset_another(api_client, user, mailoutbox):
    link = recover(api_client, user, mailoutbox)
    other = UserFactory.create()
    other_link = recover(api_client, other, mailoutbox)

    response = api_client.post(
        RESET,
        {
            "uid": other_link["uid"],
            "token": link["token"],
            "new_password": NEW_PASSWORD,
        },
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert log_in(other.email, DEFAULT_PASSWORD).status_code == HTTPStatus.OK


def test_reset_link_stops_working_when_the_password_changes(
    api_client, user, mailoutbox
):
    link = recover(api_client, user, mailoutbox)
    bearer(APIClient(), user).post(
        CHANGE, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    response = api_client.post(RESET, {**link, "new_password": "attacker's choice!"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert log_in(user.email, NEW_PASSWORD).status_code == HTTPStatus.OK


def test_reset_to_a_weak_password_is_400_and_the_link_still_works(
    api_client, user, mailoutbox
):
    link = recover(api_client, user, mailoutbox)

    weak = api_client.post(RESET, {**link, "new_password": "password"})
    strong = api_client.post(RESET, {**link, "new_password": NEW_PASSWORD})

    assert weak.status_code == HTTPStatus.BAD_REQUEST
    assert "new_password" in weak.json()["detail"]
    assert strong.status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    "link",
    [
        {"uid": "MQ", "token": "abc-def"},
        {"uid": "not base64 !!", "token": "abc-def"},
        {"uid": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "token": "abc-def"},  # huge id
        {"uid": "LTE", "token": "abc-def"},  # "-1"
        {"uid": "", "token": ""},
        {"uid": "MQ", "token": "x" * 10_000},
        {"uid": "M\x00Q", "token": "abc"},
        {"uid": ["MQ"], "token": {"a": 1}},
    ],
)
def test_invalid_reset_links_are_400(api_client, user, link):
    response = api_client.post(RESET, {**link, "new_password": NEW_PASSWORD})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "detail" in response.json()
    assert log_in(user.email, DEFAULT_PASSWORD).status_code == HTTPStatus.OK


def test_reset_link_of_a_deactivated_user_is_400(api_client, user, mailoutbox):
    link = recover(api_client, user, mailoutbox)
    user.is_active = False
    user.save()

    response = api_client.post(RESET, {**link, "new_password": NEW_PASSWORD})

    assert response.status_code == HTTPStatus.BAD_REQUEST


# Expired-token clean-up -----------------------------------------------------------


def test_flush_job_deletes_expired_token_records_only(user):
    token_pair_issue(user=user)
    token_pair_issue(user=user)
    expired, fresh = OutstandingToken.objects.filter(user=user).order_by("id")
    BlacklistedToken.objects.create(token=expired)
    expired.expires_at = timezone.now() - timedelta(seconds=1)
    expired.save()

    deleted = flush_expired_tokens.delay().get()

    assert deleted == 1
    assert list(OutstandingToken.objects.filter(user=user)) == [fresh]
    assert not BlacklistedToken.objects.filter(token_id=expired.pk).exists()


def test_flush_job_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["flush-expired-tokens"]

    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] <= timedelta(days=1)
