"""Structured logs: one access line per request, no secrets, escaped user input."""

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import pytest
import structlog

from core.celery_context import connect_celery_logging
from core.logging import REDACTED, logging_config
from core.sentry import SENTRY_EXTRA_DENYLIST
from tests.factories import DEFAULT_PASSWORD
from tests.support.logs import capture_logs
from users.services import token_pair_issue

SESSION_COOKIE = "sessionid=cookie-value-that-must-stay-secret"


def assert_no_secret(text: str, *secrets: str) -> None:
    """Fail when a secret, or an Authorization or Cookie value, is in the logs."""
    assert text, "nothing was logged"
    for secret in secrets:
        assert secret not in text
    assert "Bearer " not in text
    assert "eyJ" not in text  # the start of every JWT
    assert "cookie-value-that-must-stay-secret" not in text


@pytest.mark.django_db
def test_access_line_names_method_route_status_duration_user_and_id(
    user_client, user, logs
):
    response = user_client.get("/api/v1/users/me", headers={"X-Request-ID": "access-1"})

    (line,) = [line for line in logs.lines() if line["logger"] == "access"]
    assert response.status_code == HTTPStatus.OK
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/users/me"
    assert line["route"] == "api:user-me"
    assert line["status"] == HTTPStatus.OK
    assert line["user_id"] == user.pk
    assert line["request_id"] == "access-1"
    # One measurement: the line says what the header says.
    assert line["duration"] == pytest.approx(
        float(response["X-Process-Time"]), abs=1e-6
    )
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")


def test_anonymous_request_logs_no_user_and_unknown_path_route_not_found(
    api_client, logs
):
    api_client.get("/no/such/path?token=query-secret")

    (line,) = logs.lines()
    assert line["user_id"] is None
    assert line["route"] == "not-found"
    assert line["status"] == HTTPStatus.NOT_FOUND
    assert "query-secret" not in logs.text  # the query string is not logged


@pytest.mark.django_db
@pytest.mark.parametrize("as_form", [False, True])
def test_login_logs_no_password_or_token(api_client, user, logs, as_form):
    credentials = {"username": user.email, "password": DEFAULT_PASSWORD}
    if as_form:
        response = api_client.post(
            "/api/v1/auth/login",
            urlencode(credentials),
            content_type="application/x-www-form-urlencoded",
            headers={"Cookie": SESSION_COOKIE},
        )
    else:
        response = api_client.post(
            "/api/v1/auth/login", credentials, headers={"Cookie": SESSION_COOKIE}
        )

    assert response.status_code == HTTPStatus.OK, response.content
    tokens = response.json()
    assert_no_secret(
        logs.text, DEFAULT_PASSWORD, tokens["access_token"], tokens["refresh_token"]
    )


@pytest.mark.django_db
def test_failed_login_logs_no_password(api_client, user, logs):
    response = api_client.post(
        "/api/v1/auth/login",
        {"username": user.email, "password": "wrong but secret 123"},
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert_no_secret(logs.text, "wrong but secret 123")


@pytest.mark.django_db
def test_registration_logs_no_password(api_client, logs):
    response = api_client.post(
        "/api/v1/users/",
        {"email": "new@example.com", "password": "a new secret 456"},
    )

    assert response.status_code == HTTPStatus.CREATED
    assert_no_secret(logs.text, "a new secret 456")


@pytest.mark.django_db
def test_failed_token_check_logs_no_token(api_client, user, logs):
    token = token_pair_issue(user=user)["access_token"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    response = api_client.get(
        "/api/v1/users/me",
        headers={"Authorization": f"Bearer {tampered}", "Cookie": SESSION_COOKIE},
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert_no_secret(logs.text, tampered, token, tampered.split(".")[2])


@pytest.mark.django_db
def test_password_change_by_patch_logs_no_password_or_token(api_client, user, logs):
    token = token_pair_issue(user=user)["access_token"]
    client = api_client
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.patch(
        f"/api/v1/users/{user.pk}", {"password": "brand new secret 789"}
    )

    assert response.status_code == HTTPStatus.OK
    assert_no_secret(logs.text, "brand new secret 789", token)


@pytest.mark.django_db
def test_password_change_endpoint_logs_no_password(user_client, logs):
    """The contract's POST /users/me/password, where it exists on this branch."""
    response = user_client.post(
        "/api/v1/users/me/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": "other secret 0123"},
    )

    assert_no_secret(logs.text, DEFAULT_PASSWORD, "other secret 0123")
    assert response.status_code != HTTPStatus.INTERNAL_SERVER_ERROR


def test_secrets_passed_to_a_logger_are_redacted(logs):
    log = structlog.get_logger("app")

    log.info(
        "signed in",
        password="p1",
        refresh_token="t1",
        headers={"Authorization": "Bearer t2", "Accept": "text/html"},
    )
    logging.getLogger("lib").warning("header was Bearer t3 and eyJhbGc.eyJzdWIi.c2ln")

    app_line, lib_line = logs.lines()
    assert app_line["password"] == REDACTED
    assert app_line["refresh_token"] == REDACTED
    assert app_line["headers"] == {"Authorization": REDACTED, "Accept": "text/html"}
    assert lib_line["event"] == f"header was {REDACTED} and {REDACTED}"


def test_user_input_with_line_breaks_and_escapes_stays_on_one_escaped_line(
    api_client,
):
    with capture_logs("console") as logs:
        api_client.get(
            "/evil%0A2026-01-01 [info] forged line%1B[31m",
            headers={"X-Request-ID": "evil-1"},
        )

    (line,) = logs.text.splitlines()  # one event, one line
    assert "\x1b" not in line
    assert "forged line" in line
    assert "x1b[31m" in line  # the escape sequence, shown escaped
    assert "request_id=evil-1" in line


def test_json_lines_escape_control_characters(api_client, logs):
    api_client.get("/evil%0Aline%07")

    (line,) = logs.text.splitlines()
    assert logs.lines()[0]["path"] == "/evil\\nline\\x07"
    assert "\x07" not in line


def test_unknown_log_format_or_level_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(level="INFO", fmt="xml")
    with pytest.raises(ValueError, match="LOG_LEVEL"):
        logging_config(level="LOUD", fmt="json")


def test_sentry_scrubs_token_fields_and_sends_no_personal_data(monkeypatch):
    import sentry_sdk
    from sentry_sdk.scrubber import EventScrubber

    captured = {}
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: captured.update(options))
    from core.sentry import configure_sentry

    configure_sentry(
        dsn="https://public@sentry.example.com/1",
        environment="test",
        release="",
        traces_sample_rate=0.0,
    )
    # A raw event, as Sentry's client hands it to the scrubber (sentry_sdk's Event
    # type declares the request as a plain `object`, too loose to index below).
    event: Any = {
        "request": {
            "headers": {"Authorization": "Bearer t", "Cookie": "sessionid=s"},
            "data": {
                "email": "a@example.com",
                "password": "p",
                "new_password": "n",
                "refresh_token": "r",
                "nested": {"access_token": "a"},
            },
        }
    }
    scrubber: EventScrubber = captured["event_scrubber"]
    scrubber.scrub_event(event)

    assert captured["send_default_pii"] is False
    assert {"access_token", "refresh_token", "new_password"} <= set(
        SENTRY_EXTRA_DENYLIST
    )
    data = event["request"]["data"]
    assert data["email"] == "a@example.com"
    assert data["password"] != "p"
    assert data["new_password"] != "n"
    assert data["refresh_token"] != "r"
    assert data["nested"]["access_token"] != "a"
    assert event["request"]["headers"]["Authorization"] != "Bearer t"
    assert event["request"]["headers"]["Cookie"] != "sessionid=s"


# CELERY
# ------------------------------------------------------------------------------
@pytest.fixture
def celery_app():
    """A throwaway Celery app on the in-memory broker, with the logging signals."""
    from celery import Celery

    app = Celery("log-test", broker="memory://", backend="cache+memory://")
    connect_celery_logging()

    @app.task(name="log-test.job")
    def job():
        structlog.get_logger("jobs").info("job ran")
        logging.getLogger("jobs.stdlib").info("stdlib line")

    return app


def test_task_published_in_a_request_carries_its_id_to_the_worker(celery_app, logs):
    job = celery_app.tasks["log-test.job"]
    published = {}

    def keep_headers(headers=None, **kwargs):
        published.update(headers)

    from celery.signals import before_task_publish

    before_task_publish.connect(keep_headers, weak=False)
    try:
        structlog.contextvars.bind_contextvars(request_id="req-in-web")
        job.apply_async()
    finally:
        before_task_publish.disconnect(keep_headers)
        structlog.contextvars.clear_contextvars()

    # The worker side: the same task run with the headers that were published.
    job.apply(headers=published, task_id=published["id"])

    lines = [line for line in logs.lines() if line["logger"].startswith("jobs")]
    assert published["request_id"] == "req-in-web"
    assert len(lines) == 2
    assert all(line["request_id"] == "req-in-web" for line in lines)
    assert all(line["task_id"] == published["id"] for line in lines)
    assert all(line["task_name"] == "log-test.job" for line in lines)
    assert structlog.contextvars.get_contextvars() == {}


def test_eager_task_logs_with_the_request_id_and_leaves_the_request_context(
    celery_app, logs
):
    structlog.contextvars.bind_contextvars(request_id="req-eager")
    try:
        celery_app.tasks["log-test.job"].apply()
        after = structlog.contextvars.get_contextvars()
    finally:
        structlog.contextvars.clear_contextvars()

    lines = [line for line in logs.lines() if line["logger"].startswith("jobs")]
    assert [line["request_id"] for line in lines] == ["req-eager", "req-eager"]
    assert after == {"request_id": "req-eager"}  # no task_id left behind


@pytest.mark.django_db
def test_reset_email_job_logs_with_the_id_of_the_request_that_enqueued_it(
    api_client, user, logs, mailoutbox
):
    response = api_client.post(
        "/api/v1/auth/password-recovery",
        {"email": user.email},
        headers={"X-Request-ID": "recovery-1"},
    )

    (line,) = [line for line in logs.lines() if line["logger"] == "users.tasks"]
    assert response.status_code == HTTPStatus.ACCEPTED
    assert line["event"] == "password reset email sent"
    assert line["request_id"] == "recovery-1"
    assert line["task_name"] == "users.tasks.send_password_reset_email"
    assert len(mailoutbox) == 1
