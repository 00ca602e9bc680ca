"""Contract: Every response (X-Request-ID, X-Process-Time, gzip, CORS)."""

import os
import uuid

import httpx
import pytest

from tests.contract.helpers import API, create_item

ALLOWED_ORIGIN = os.environ.get("CONTRACT_CORS_ORIGIN", "http://allowed.example")
OTHER_ORIGIN = "http://evil.example"
# A success, a 401, a 404 and a 405: the headers are on every response.
RESPONSES = [
    ("GET", "/health"),
    ("GET", "/api/v1/users/me"),
    ("GET", "/api/v1/nothing-here"),
    ("DELETE", "/health"),
]


def is_uuid4(value: str) -> bool:
    """Say whether value is a UUID4."""
    try:
        return uuid.UUID(value).version == 4
    except ValueError:
        return False


@pytest.mark.parametrize(
    "incoming",
    ["abc", "req-123_x.y", "A" * 128, str(uuid.uuid4()), "0"],
    ids=["word", "all-allowed-marks", "128-characters", "uuid", "digit"],
)
@pytest.mark.parametrize(("method", "path"), RESPONSES)
def test_a_sane_request_id_is_echoed(
    client: httpx.Client, method: str, path: str, incoming: str
) -> None:
    """`X-Request-ID`: the incoming `X-Request-ID` when it is a sane token (letters,
    digits, `-`, `_`, `.`, at most 128 characters)."""
    response = client.request(method, path, headers={"X-Request-ID": incoming})

    assert response.headers.get("x-request-id") == incoming


@pytest.mark.parametrize(
    "incoming",
    ["A" * 129, "has space", "semi;colon", "<script>", "a/b", "ü-umlaut", "a,b"],
    ids=["129-chars", "space", "semicolon", "markup", "slash", "non-ascii", "comma"],
)
def test_an_insane_request_id_is_replaced_by_a_uuid4(
    client: httpx.Client, incoming: str
) -> None:
    """`X-Request-ID`: ... else a new UUID4."""
    response = client.get("/health", headers={b"X-Request-ID": incoming.encode()})

    assert response.headers.get("x-request-id") != incoming
    assert is_uuid4(response.headers.get("x-request-id", "")), response.headers


@pytest.mark.parametrize(("method", "path"), RESPONSES)
def test_without_a_request_id_a_new_uuid4_is_sent(
    client: httpx.Client, method: str, path: str
) -> None:
    """`X-Request-ID`: ... else a new UUID4 (a fresh one per request)."""
    first = client.request(method, path)
    second = client.request(method, path)

    assert is_uuid4(first.headers.get("x-request-id", ""))
    assert is_uuid4(second.headers.get("x-request-id", ""))
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_an_empty_request_id_is_replaced(client: httpx.Client) -> None:
    """`X-Request-ID`: ... else a new UUID4 (an empty one is not a token)."""
    response = client.get("/health", headers={"X-Request-ID": ""})

    assert is_uuid4(response.headers.get("x-request-id", ""))


@pytest.mark.parametrize(("method", "path"), RESPONSES)
def test_process_time_is_in_seconds(
    client: httpx.Client, method: str, path: str
) -> None:
    """`X-Process-Time`: server time for the request, in seconds."""
    response = client.request(method, path)

    seconds = float(response.headers["x-process-time"])
    assert 0 <= seconds < 60


def test_a_large_body_is_gzipped_when_the_client_accepts_it(user) -> None:
    """Bodies of 1,000 bytes or more are gzip-compressed when the client accepts
    gzip."""
    for _ in range(12):
        create_item(user, title="t" * 100)

    response = user.client.get(f"{API}/items/", headers={"Accept-Encoding": "gzip"})

    assert len(response.content) >= 1000
    assert response.headers.get("content-encoding") == "gzip"
    assert len(response.json()) == 12


def test_a_large_body_is_plain_when_the_client_does_not_accept_gzip(user) -> None:
    """Bodies of 1,000 bytes or more are gzip-compressed when the client accepts
    gzip (and only then)."""
    for _ in range(12):
        create_item(user, title="t" * 100)

    response = user.client.get(f"{API}/items/", headers={"Accept-Encoding": "identity"})

    assert "content-encoding" not in response.headers
    assert len(response.json()) == 12


def test_the_schema_is_gzipped(client: httpx.Client) -> None:
    """Bodies of 1,000 bytes or more are gzip-compressed when the client accepts
    gzip."""
    response = client.get(f"{API}/openapi.json", headers={"Accept-Encoding": "gzip"})

    assert response.headers.get("content-encoding") == "gzip"
    assert response.json()["openapi"].startswith("3.")


def test_a_small_body_is_not_gzipped(client: httpx.Client) -> None:
    """Bodies of 1,000 bytes or more are gzip-compressed (smaller ones need not
    be)."""
    response = client.get("/health", headers={"Accept-Encoding": "gzip"})

    assert "content-encoding" not in response.headers
    assert response.json() == {"status": "healthy"}


def test_cors_preflight_from_a_configured_origin(client: httpx.Client) -> None:
    """CORS for the configured origins only."""
    response = client.options(
        f"{API}/items/",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code in (200, 204)
    assert response.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    methods = response.headers.get("access-control-allow-methods", "").upper()
    assert "POST" in methods or methods == "*"
    allowed = response.headers.get("access-control-allow-headers", "").lower()
    assert "authorization" in allowed or allowed == "*"


def test_cors_on_a_request_from_a_configured_origin(user) -> None:
    """CORS for the configured origins only."""
    response = user.client.get(f"{API}/items/", headers={"Origin": ALLOWED_ORIGIN})

    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN


def test_no_cors_for_another_origin(client: httpx.Client, user) -> None:
    """CORS for the configured origins only."""
    preflight = client.options(
        f"{API}/items/",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    simple = user.client.get(f"{API}/items/", headers={"Origin": OTHER_ORIGIN})

    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers
    assert simple.status_code == 200
