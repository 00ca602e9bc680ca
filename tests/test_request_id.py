"""X-Request-ID and X-Process-Time on every response; the id on every log line."""

import re
import uuid
from http import HTTPStatus

import pytest
from django.test import override_settings

from tests.factories import DEFAULT_PASSWORD

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "core.cache.SharedClientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value
    except ValueError:
        return False


@pytest.mark.parametrize(
    "request_id", ["abc-DEF_123.x", "7", "a" * 128, str(uuid.uuid4())]
)
def test_sane_request_id_is_echoed(api_client, request_id):
    response = api_client.get("/health", headers={"X-Request-ID": request_id})

    assert response["X-Request-ID"] == request_id


@pytest.mark.parametrize(
    "request_id",
    [
        "a" * 129,  # too long
        "abc\x1b[31m",  # control characters
        "abc\tdef",
        "two words",
        "semi;colon",
        "caf\u00e9",  # not ASCII
        "",
    ],
)
def test_insane_request_id_is_replaced_by_a_uuid4(api_client, request_id):
    response = api_client.get("/health", headers={"X-Request-ID": request_id})

    assert response["X-Request-ID"] != request_id
    assert is_uuid4(response["X-Request-ID"])


def test_request_without_id_gets_a_fresh_uuid4_each_time(api_client):
    first = api_client.get("/health")["X-Request-ID"]
    second = api_client.get("/health")["X-Request-ID"]

    assert is_uuid4(first)
    assert is_uuid4(second)
    assert first != second


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/health", HTTPStatus.OK),
        ("get", "/health/ready", HTTPStatus.OK),
        ("get", "/no/such/path", HTTPStatus.NOT_FOUND),
        ("post", "/health", HTTPStatus.METHOD_NOT_ALLOWED),
        ("put", "/api/v1/items/", HTTPStatus.METHOD_NOT_ALLOWED),  # 405 before 401
        ("get", "/api/v1/users/me", HTTPStatus.UNAUTHORIZED),
        ("get", "/api/v1/openapi.json", HTTPStatus.OK),
        ("get", "/admin/", HTTPStatus.FOUND),
        ("options", "/api/v1/items/", HTTPStatus.UNAUTHORIZED),
        ("get", "/metrics", HTTPStatus.OK),
    ],
)
def test_every_response_carries_request_id_and_process_time(
    api_client, method, path, status
):
    response = getattr(api_client, method)(path)

    assert response.status_code == status
    assert is_uuid4(response["X-Request-ID"])
    assert re.fullmatch(r"\d+\.\d{6}", response["X-Process-Time"])


def test_body_over_limit_413_carries_request_id_and_process_time(api_client):
    response = api_client.post(
        "/api/v1/auth/login",
        data=b"x" * (2 * 1024 * 1024),
        content_type="application/json",
        headers={"X-Request-ID": "big-body"},
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response["X-Request-ID"] == "big-body"
    assert "X-Process-Time" in response


@pytest.mark.django_db
@override_settings(CACHES=UNREACHABLE_REDIS)
def test_every_log_line_of_a_request_carries_its_id(api_client, logs):
    """A failing readiness check logs from the app, Django and the access log."""
    response = api_client.get("/health/ready", headers={"X-Request-ID": "ready-1"})

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["X-Request-ID"] == "ready-1"
    lines = logs.lines()
    assert {line["logger"] for line in lines} >= {
        "core.health",  # the application
        "django.request",  # Django's own 5xx line, written after the middleware
        "access",
    }
    assert all(line["request_id"] == "ready-1" for line in lines)


@pytest.mark.django_db
def test_log_lines_of_consecutive_requests_carry_their_own_id(api_client, user, logs):
    api_client.post(
        "/api/v1/auth/login",
        {"username": user.email, "password": DEFAULT_PASSWORD},
        headers={"X-Request-ID": "first"},
    )
    api_client.get("/health", headers={"X-Request-ID": "second"})

    access = [line for line in logs.lines() if line["logger"] == "access"]
    assert [(line["request_id"], line["route"]) for line in access] == [
        ("first", "api:login"),
        ("second", "health"),
    ]
