"""Contract: Errors (JSON `detail` everywhere, bad bodies, 413, 404, 405)."""

import json

import httpx
import pytest

from tests.contract.helpers import (
    API,
    assert_validation_error,
    error_detail,
    is_json,
    new_client,
)

MIB = 1024 * 1024
# What must never reach a response in production mode.
LEAKS = ("Traceback", 'File "', "psycopg", "sqlalchemy", "SELECT ", "site-packages")


def item_count(account) -> int:
    """Return how many items the account sees."""
    return int(account.client.get(f"{API}/items/").headers["x-total-count"])


def assert_no_leak(response: httpx.Response) -> None:
    """Check that no stack trace or SQL is in the body."""
    for marker in LEAKS:
        assert marker not in response.text, (marker, response.text[:300])


@pytest.mark.parametrize(
    "body",
    [b"{bad json", b'{"title": "x",}', b"", b"\xff\xfe", b"[", b'"just a string"'],
    ids=["garbage", "trailing-comma", "empty", "not-utf8", "truncated", "not-object"],
)
def test_malformed_json_is_a_clear_4xx_and_changes_nothing(
    user, body: bytes, observe
) -> None:
    """Malformed JSON ... is a 4xx with a clear message, never a 500, and changes
    nothing."""
    response = user.client.post(
        f"{API}/items/", content=body, headers={"Content-Type": "application/json"}
    )

    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert error_detail(response)
    assert_no_leak(response)
    assert item_count(user) == 0
    observe("status", response.status_code)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"title": "x"}'),
        ("application/xml", b"<title>x</title>"),
        ("application/octet-stream", b'{"title": "x"}'),
    ],
    ids=["text", "xml", "octet-stream"],
)
def test_a_wrong_content_type_is_a_clear_4xx(
    user, content_type: str, body: bytes, observe
) -> None:
    """A wrong content type ... is a 4xx with a clear message, never a 500, and
    changes nothing."""
    response = user.client.post(
        f"{API}/items/", content=body, headers={"Content-Type": content_type}
    )

    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert error_detail(response)
    assert item_count(user) == 0
    observe("status", response.status_code)


def test_a_body_over_the_limit_is_413_json(user) -> None:
    """A body over the limit: 413 JSON. Request body: 1 MiB."""
    body = json.dumps({"title": "big", "description": "x" * (MIB + 10)})

    with new_client(Authorization=f"Bearer {user.access_token}") as fresh:
        response = fresh.post(
            f"{API}/items/", content=body, headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 413
    assert error_detail(response)
    assert item_count(user) == 0


def test_a_chunked_body_over_the_limit_is_413_json(user) -> None:
    """A body over the size limit ... is a 4xx ... A body over the limit: 413 JSON
    (sent chunked, without Content-Length)."""

    def chunks():
        yield b'{"title": "big", "description": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    with new_client(Authorization=f"Bearer {user.access_token}") as fresh:
        response = fresh.post(
            f"{API}/items/",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )

    assert response.status_code == 413
    assert error_detail(response)
    assert item_count(user) == 0


def test_a_body_under_the_limit_is_not_413(user, observe) -> None:
    """Request body: 1 MiB (a body under it is read)."""
    body = json.dumps({"title": "almost", "description": "x" * (MIB - 1024)})

    response = user.client.post(
        f"{API}/items/", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code != 413
    assert response.status_code < 500
    observe("status", response.status_code)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x" * 100_000}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"title": "ok", "description": "a\x00b"}, "description"),
        ({"title": {"nested": ["object"]}}, "title"),
        ({"title": True}, "title"),
        ({"title": "ok", "description": ["a", "list"]}, "description"),
    ],
    ids=["huge", "nul-title", "nul-description", "object", "boolean", "list"],
)
def test_an_absurd_value_is_a_4xx_naming_the_field(
    user, body: dict, field: str, observe
) -> None:
    """An absurd value (huge strings, wrong types, NUL bytes, deeply nested JSON) is
    a 4xx with a clear message, never a 500, and changes nothing."""
    response = user.client.post(f"{API}/items/", json=body)

    assert_validation_error(response, field, observe)
    assert_no_leak(response)
    assert item_count(user) == 0


def test_a_nul_byte_in_an_email_is_refused(client: httpx.Client, observe) -> None:
    """An absurd value (... NUL bytes ...) is a 4xx with a clear message."""
    response = client.post(
        f"{API}/users/", json={"email": "a\x00b@example.com", "password": "x" * 12}
    )

    assert_validation_error(response, "email", observe)


@pytest.mark.parametrize("depth", [100, 5000, 100_000])
def test_deeply_nested_json_is_a_4xx(user, depth: int, observe) -> None:
    """An absurd value (... deeply nested JSON) is a 4xx with a clear message, never
    a 500, and changes nothing."""
    body = b'{"title": ' + b"[" * depth + b"]" * depth + b"}"

    response = user.client.post(
        f"{API}/items/", content=body, headers={"Content-Type": "application/json"}
    )

    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert error_detail(response)
    assert_no_leak(response)
    assert item_count(user) == 0
    observe("status", response.status_code)


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/nothing-here", "/api/v1/items/1/extra"]
)
def test_an_unknown_path_is_404_json(client: httpx.Client, path: str) -> None:
    """An unknown path: 404 JSON."""
    response = client.get(path)

    assert response.status_code == 404
    assert error_detail(response)


def test_an_unknown_path_is_404_json_for_a_post_too(client: httpx.Client) -> None:
    """An unknown path: 404 JSON (a POST too: no CSRF page, no HTML)."""
    response = client.post("/api/v1/nothing-here", json={})

    assert response.status_code == 404
    assert error_detail(response)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/health", "GET"),
        ("POST", "/health/ready", "GET"),
        ("GET", "/api/v1/auth/login", "POST"),
        ("PUT", "/api/v1/auth/refresh", "POST"),
        ("DELETE", "/api/v1/users/me", "GET"),
        ("POST", "/api/v1/items/1", "GET"),
        ("DELETE", "/api/v1/items/", "GET"),
        ("PUT", "/api/v1/users/", "POST"),
    ],
)
def test_a_method_the_path_lacks_is_405_with_allow(
    user, method: str, path: str, allowed: str, observe
) -> None:
    """A method the path lacks: 405 JSON with `Allow`."""
    response = user.client.request(method, path)

    assert response.status_code == 405, (response.status_code, response.text[:200])
    assert error_detail(response)
    methods = {m.strip().upper() for m in response.headers.get("allow", "").split(",")}
    assert allowed in methods, response.headers.get("allow")
    assert method not in methods


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/users/me"),
        ("GET", "/api/v1/users/"),
        ("GET", "/api/v1/items/999999999"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/users/"),
    ],
)
def test_every_error_body_is_json_with_detail(
    client: httpx.Client, method: str, path: str
) -> None:
    """Every error body is JSON with a `detail` key. Non-field errors: `{"detail":
    "<message>"}`."""
    form = {"username": "x"} if method == "POST" else None

    response = client.request(method, path, data=form)

    assert response.status_code >= 400
    assert is_json(response)
    assert "detail" in response.json()
    assert_no_leak(response)


def test_a_non_field_error_is_a_message(client: httpx.Client) -> None:
    """Non-field errors: `{"detail": "<message>"}`."""
    response = client.get(f"{API}/users/me")

    assert set(response.json()) == {"detail"}
    assert isinstance(response.json()["detail"], str)
    assert response.json()["detail"]


def test_an_id_that_is_not_an_integer(user, observe) -> None:
    """Ids are integers (anything else is a 4xx, never a 500)."""
    response = user.client.get(f"{API}/items/not-a-number")

    assert response.status_code in (400, 404, 422), response.text
    assert error_detail(response)
    observe("status", response.status_code)


def test_an_id_beyond_64_bits_is_never_a_500(user, observe) -> None:
    """Ids are integers ... never a 500."""
    response = user.client.get(f"{API}/items/{10**30}")

    assert response.status_code in (400, 404, 422), response.text
    assert error_detail(response)
    observe("status", response.status_code)
