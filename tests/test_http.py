"""HTTP plumbing: CORS for configured origins, gzip from 1,000 bytes, 413 bodies."""

import gzip
import http.client
import json
from http import HTTPStatus

import pytest
from django.test import override_settings

from items.models import Item
from tests.factories import ItemFactory
from users.models import User

ALLOWED = "https://app.example.com"
LIMIT = 1024 * 1024


# CORS
# ------------------------------------------------------------------------------
@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
def test_cors_allows_a_configured_origin_and_exposes_the_headers(api_client):
    response = api_client.get("/health", headers={"Origin": ALLOWED})

    assert response["Access-Control-Allow-Origin"] == ALLOWED
    exposed = response["Access-Control-Expose-Headers"].lower()
    assert "x-request-id" in exposed
    assert "x-total-count" in exposed


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
def test_cors_preflight_from_a_configured_origin_allows_auth_headers(api_client):
    response = api_client.options(
        "/api/v1/items/",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": (
                "authorization, content-type, x-request-id"
            ),
        },
    )

    assert response.status_code == HTTPStatus.OK
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    allowed_headers = response["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "x-request-id"} <= {
        header.strip() for header in allowed_headers.split(",")
    }
    assert "X-Request-ID" in response


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "https://app.example.com.evil.example",
        "http://app.example.com",  # another scheme is another origin
        "null",
    ],
)
@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
def test_cors_refuses_other_origins(api_client, origin):
    simple = api_client.get("/health", headers={"Origin": origin})
    preflight = api_client.options(
        "/api/v1/items/",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )

    assert simple.status_code == HTTPStatus.OK  # served, but not readable by the page
    assert "Access-Control-Allow-Origin" not in simple
    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Methods" not in preflight


def test_cors_allows_no_origin_when_none_is_configured(api_client):
    response = api_client.get("/health", headers={"Origin": ALLOWED})

    assert "Access-Control-Allow-Origin" not in response


# GZIP
# ------------------------------------------------------------------------------
def item_of_body_size(client, user: User, size: int) -> str:
    """Create an item whose JSON representation is exactly `size` bytes; its path."""
    item = ItemFactory.create(owner=user, title="t", description="")
    path = f"/api/v1/items/{item.pk}"
    base = len(client.get(path).content)
    item.description = "x" * (size - base)
    item.save()
    return path


@pytest.mark.django_db
def test_body_of_1000_bytes_is_gzipped_when_accepted(user_client, user):
    path = item_of_body_size(user_client, user, 1000)

    plain = user_client.get(path)
    response = user_client.get(path, headers={"Accept-Encoding": "gzip, br"})

    assert len(plain.content) == 1000
    assert "Content-Encoding" not in plain
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert json.loads(gzip.decompress(response.content)) == plain.json()
    assert int(response["Content-Length"]) == len(response.content) < 1000


@pytest.mark.django_db
def test_body_of_999_bytes_is_not_gzipped(user_client, user):
    path = item_of_body_size(user_client, user, 999)

    response = user_client.get(path, headers={"Accept-Encoding": "gzip"})

    assert len(response.content) == 999  # Django alone compresses from 200 bytes
    assert "Content-Encoding" not in response
    assert response.json()["description"] == "x" * len(response.json()["description"])


@pytest.mark.django_db
def test_large_list_is_gzipped_only_for_clients_that_accept_it(user_client, user):
    ItemFactory.create_batch(20, owner=user)

    identity = user_client.get("/api/v1/items/", headers={"Accept-Encoding": "br"})
    compressed = user_client.get("/api/v1/items/", headers={"Accept-Encoding": "gzip"})

    assert len(identity.content) > 1000
    assert "Content-Encoding" not in identity
    assert compressed["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(compressed.content))) == 20


# BODY SIZE LIMIT
# ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_two_mib_json_body_is_413_json_and_changes_nothing(user_client):
    body = json.dumps({"title": "big", "description": "x" * (2 * LIMIT)})

    response = user_client.post("/api/v1/items/", body, content_type="application/json")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "detail": f"Request body too large: the limit is {LIMIT} bytes."
    }
    assert Item.objects.count() == 0


@pytest.mark.django_db
def test_two_mib_form_login_is_413(api_client):
    response = api_client.post(
        "/api/v1/auth/login",
        "username=a%40example.com&password=" + "x" * (2 * LIMIT),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "detail" in response.json()


@pytest.mark.django_db
def test_body_of_exactly_the_limit_is_accepted(user_client):
    envelope = len(json.dumps({"title": "big", "description": ""}))
    body = json.dumps({"title": "big", "description": "x" * (LIMIT - envelope)})

    response = user_client.post("/api/v1/items/", body, content_type="application/json")

    assert len(body) == LIMIT
    assert response.status_code == HTTPStatus.CREATED
    assert Item.objects.count() == 1


@pytest.mark.parametrize("length", ["1048577", "9" * 40])
def test_absurd_content_length_is_413_without_reading_the_body(api_client, length):
    response = api_client.generic(
        "POST",
        "/api/v1/auth/login",
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=length,
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


@override_settings(MAX_REQUEST_BODY_BYTES=10)
@pytest.mark.django_db
def test_limit_is_configurable(api_client):
    response = api_client.post(
        "/api/v1/users/", {"email": "a@example.com", "password": "long enough 1"}
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert User.objects.count() == 0


def send_chunked(
    url: str, path: str, chunks: list[bytes], content_type: str = "application/json"
) -> tuple[int, dict]:
    """POST a body with Transfer-Encoding: chunked, as http.client sends one."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        try:
            for chunk in chunks:
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before reading it all: read that answer
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.live
def test_chunked_bodies_are_read_up_to_the_limit(gunicorn_server):
    """Under gunicorn a chunked body has no Content-Length; the limit still holds."""
    chunk = b"x" * (64 * 1024)
    oversized = [b'{"email": "a@example.com", "password": "'] + [chunk] * 32

    too_big = send_chunked(gunicorn_server.url, "/api/v1/users/", oversized)
    registered = send_chunked(
        gunicorn_server.url,
        "/api/v1/users/",
        [b'{"email": "chunked@example.com",', b' "password": "long enough 123"}'],
    )

    assert too_big[0] == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "limit" in too_big[1]["detail"]
    assert registered[0] == HTTPStatus.CREATED  # the small body did reach the view
    assert registered[1]["email"] == "chunked@example.com"
    assert list(User.objects.values_list("email", flat=True)) == ["chunked@example.com"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_root_sends_a_browser_to_the_docs(api_client, method):
    response = getattr(api_client, method)("/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/api/v1/docs"
