"""Redis unreachable: the API keeps serving, login and password recovery answer 503.

Redis "down" is a cache or broker URL on a closed port; the real Redis is left alone.
"""

import json
import logging
import urllib.error
import urllib.request
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.http import bearer
from users.services import token_pair_issue

DEAD_REDIS = "redis://127.0.0.1:1/0"
LOGIN = "/api/v1/auth/login"
RECOVERY = "/api/v1/auth/password-recovery"


@pytest.fixture
def redis_down(settings):
    """Rate limits on, with their counters in a Redis that cannot be reached."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.SharedClientRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.RATE_LIMITS_ENABLED = True


def assert_503_json(response) -> None:
    """Assert a 503 with a JSON detail and Retry-After."""
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_login_is_503_rather_than_unlimited(api_client, redis_down):
    user = UserFactory.create()

    response = api_client.post(
        LOGIN, {"username": user.email, "password": DEFAULT_PASSWORD}
    )

    assert_503_json(response)
    assert "access_token" not in response.json()


@pytest.mark.django_db
def test_password_recovery_is_503(api_client, redis_down, mailoutbox):
    user = UserFactory.create()

    response = api_client.post(RECOVERY, {"email": user.email})

    assert_503_json(response)
    assert mailoutbox == []


@pytest.mark.django_db
def test_authenticated_api_keeps_serving_and_logs_the_outage(redis_down, caplog):
    client = bearer(APIClient(), UserFactory.create())

    with caplog.at_level(logging.ERROR, logger="core.throttling"):
        response = client.get("/api/v1/items/")

    assert response.status_code == HTTPStatus.OK
    assert any("rate-limit store unreachable" in r.message for r in caplog.records)


@pytest.mark.django_db
def test_bad_bearer_tokens_stay_401_when_the_anonymous_count_is_down(
    api_client, redis_down
):
    statuses = [
        api_client.get("/api/v1/users/me", HTTP_AUTHORIZATION="Bearer x.y.z")
        for _ in range(3)
    ]

    assert [r.status_code for r in statuses] == [HTTPStatus.UNAUTHORIZED] * 3
    assert all(r["WWW-Authenticate"] == "Bearer" for r in statuses)


@pytest.mark.django_db
def test_anonymous_registration_keeps_working(api_client, redis_down):
    response = api_client.post(
        "/api/v1/users/", {"email": "new@example.com", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_readiness_reports_the_cache_down(api_client, redis_down):
    response = api_client.get("/health/ready")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["cache"].startswith("error")


@pytest.mark.django_db
def test_with_rate_limits_off_login_works_without_redis(
    api_client, redis_down, settings
):
    settings.RATE_LIMITS_ENABLED = False
    user = UserFactory.create()

    response = api_client.post(
        LOGIN, {"username": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == HTTPStatus.OK


# Live: gunicorn processes pointed at a closed Redis port ------------------------


def call(method: str, url: str, body: dict | None = None, token: str | None = None):
    """Make a request; return the status, the headers and the body text."""
    request = urllib.request.Request(url, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, data, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.mark.live
def test_live_server_with_redis_down_serves_the_api_but_not_login(
    live_server_factory,
):
    user = UserFactory.create()
    token = token_pair_issue(user=user)["access_token"]
    server = live_server_factory(
        extra_env={"REDIS_URL": DEAD_REDIS, "RATE_LIMITS_ENABLED": "true"}
    )

    ready = call("GET", f"{server.url}/health/ready")
    items = call("GET", f"{server.url}/api/v1/items/", token=token)
    login = call(
        "POST",
        f"{server.url}{LOGIN}",
        {"username": user.email, "password": DEFAULT_PASSWORD},
    )
    recovery = call("POST", f"{server.url}{RECOVERY}", {"email": user.email})
    registration = call(
        "POST",
        f"{server.url}/api/v1/users/",
        {"email": "new@example.com", "password": DEFAULT_PASSWORD},
    )

    assert ready[0] == HTTPStatus.SERVICE_UNAVAILABLE
    assert items[0] == HTTPStatus.OK
    for status, headers, body in (login, recovery):
        assert status == HTTPStatus.SERVICE_UNAVAILABLE
        assert headers["Retry-After"]
        assert "detail" in json.loads(body)
    assert registration[0] == HTTPStatus.CREATED
    assert "Traceback" not in server.log.read_text()


@pytest.mark.live
def test_live_password_recovery_is_503_when_the_broker_is_down(live_server_factory):
    user = UserFactory.create()
    server = live_server_factory(
        extra_env={
            "REDIS_URL": DEAD_REDIS,
            "RATE_LIMITS_ENABLED": "false",  # past the limits, to the job queue
            "CELERY_TASK_ALWAYS_EAGER": "false",
        }
    )

    known = call("POST", f"{server.url}{RECOVERY}", {"email": user.email})
    unknown = call("POST", f"{server.url}{RECOVERY}", {"email": "nobody@example.com"})

    for status, headers, body in (known, unknown):
        assert status == HTTPStatus.SERVICE_UNAVAILABLE
        assert headers["Retry-After"]
        assert "detail" in json.loads(body)
    assert known[2] == unknown[2]
