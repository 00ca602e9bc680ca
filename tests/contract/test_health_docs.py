"""Contract: Health, Documentation, and the general rules at the top of the page."""

import os
import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from openapi_spec_validator import validate

from tests.contract.helpers import API, BASE_URL, is_json, is_timestamp

# Every path of the contract, as written there.
CONTRACT_PATHS = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/users/"),
    ("get", "/api/v1/users/"),
    ("get", "/api/v1/users/me"),
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/users/{id}"),
    ("delete", "/api/v1/users/{id}"),
    ("get", "/api/v1/items/"),
    ("post", "/api/v1/items/"),
    ("get", "/api/v1/items/{id}"),
    ("put", "/api/v1/items/{id}"),
    ("patch", "/api/v1/items/{id}"),
    ("delete", "/api/v1/items/{id}"),
}


def schema_operations(schema: dict) -> dict[tuple[str, str], dict]:
    """Return the schema's operations by (method, path), slashes and names evened."""
    operations = {}
    for path, item in schema["paths"].items():
        normal = re.sub(r"\{[^}]+\}", "{id}", path)
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                operations[(method, normal)] = operation
                operations[(method, normal.rstrip("/") or "/")] = operation
                operations[(method, normal.rstrip("/") + "/")] = operation
    return operations


def test_health_is_healthy(client: httpx.Client) -> None:
    """`GET /health` | 200 `{"status": "healthy"}`."""
    response = client.get("/health")

    assert response.status_code == 200
    assert is_json(response)
    assert response.json() == {"status": "healthy"}


def test_health_ready_reports_each_check(client: httpx.Client) -> None:
    """`GET /health/ready` | 200 `{"status": "ready", "checks": {"database": "ok",
    "cache": "ok"}}`."""
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert is_json(response)
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok"},
    }


def test_openapi_schema_is_valid_openapi_3(client: httpx.Client) -> None:
    """`GET /api/v1/openapi.json` | OpenAPI 3 schema, JSON; valid."""
    response = client.get(f"{API}/openapi.json")

    assert response.status_code == 200
    assert is_json(response)
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_openapi_schema_lists_every_contract_operation(client: httpx.Client) -> None:
    """OpenAPI schema ... true to what the server does (status codes, bodies, auth)."""
    schema = client.get(f"{API}/openapi.json").json()

    operations = schema_operations(schema)

    missing = sorted(f"{m.upper()} {p}" for m, p in CONTRACT_PATHS - operations.keys())
    assert not missing, missing
    created = {("post", "/api/v1/users/"), ("post", "/api/v1/items/")}
    for key in created:
        assert "201" in operations[key]["responses"], key
    for key in (("delete", "/api/v1/items/{id}"), ("delete", "/api/v1/users/{id}")):
        assert "204" in operations[key]["responses"], key
    assert "200" in operations[("post", "/api/v1/auth/login")]["responses"]
    login_body = operations[("post", "/api/v1/auth/login")]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in login_body


def test_openapi_schema_declares_the_password_flow(
    client: httpx.Client, observe
) -> None:
    """`GET /api/v1/docs` | Swagger UI on that schema, with working "Authorize"
    (password flow and bearer)."""
    schema = client.get(f"{API}/openapi.json").json()

    schemes = schema.get("components", {}).get("securitySchemes", {})

    flows = [
        scheme["flows"]["password"]
        for scheme in schemes.values()
        if scheme.get("type") == "oauth2" and "password" in scheme.get("flows", {})
    ]
    assert flows, schemes
    # Swagger UI resolves a relative tokenUrl against the page it runs on.
    token_url = urljoin(f"{BASE_URL}{API}/docs", flows[0]["tokenUrl"])
    assert urlsplit(token_url).path.rstrip("/") == "/api/v1/auth/login", token_url
    bearer = [s for s in schemes.values() if s.get("scheme", "").lower() == "bearer"]
    observe("separate bearer scheme", bool(bearer))
    me = schema_operations(schema)[("get", "/api/v1/users/me")]
    assert me.get("security", schema.get("security")), "GET /users/me declares no auth"


def test_swagger_ui_serves_the_schema_and_its_assets(
    client: httpx.Client, observe
) -> None:
    """`GET /api/v1/docs` | Swagger UI on that schema."""
    response = client.get(f"{API}/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "swagger" in page.lower()
    assert "openapi.json" in page
    scripts = [
        urljoin(f"{BASE_URL}{API}/docs", src)
        for src in re.findall(r'<script[^>]+src="([^"]+)"', page)
    ]
    assert scripts, "no script on the page"
    # Assets from a CDN are a legitimate choice; the server's own must load.
    own = [url for url in scripts if url.startswith(f"{BASE_URL}/")]
    observe("self-hosted assets", bool(own))
    for url in own:
        asset = client.get(url)
        assert asset.status_code == 200, (url, asset.status_code)


def test_redoc_serves_the_schema(client: httpx.Client) -> None:
    """`GET /api/v1/redoc` | ReDoc on that schema."""
    response = client.get(f"{API}/redoc")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "redoc" in response.text.lower()
    assert "openapi.json" in response.text


@pytest.mark.skipif(
    os.environ.get("CONTRACT_ADMIN", "1") == "0", reason="no Django admin here"
)
def test_admin_asks_for_a_login(client: httpx.Client) -> None:
    """`/admin/` | Django admin for users and items."""
    response = client.get("/admin/", follow_redirects=True)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'name="password"' in response.text


@pytest.mark.parametrize(
    ("written", "other"),
    [
        ("/api/v1/items/", "/api/v1/items"),
        ("/api/v1/users/me", "/api/v1/users/me/"),
    ],
)
def test_the_other_spelling_of_a_path_answers_the_same(
    written: str, other: str, user
) -> None:
    """Paths are as written ... The other spelling answers the same, without a
    redirect (a redirected POST loses its body)."""
    first = user.client.get(written)
    second = user.client.get(other)

    assert first.status_code == 200
    assert second.status_code == 200, (second.status_code, second.headers)
    assert second.json() == first.json()


def test_a_post_to_the_other_spelling_keeps_its_body(user) -> None:
    """The other spelling answers the same, without a redirect (a redirected POST
    loses its body)."""
    response = user.client.post(f"{API}/items", json={"title": "no slash"})

    assert response.status_code == 201, (response.status_code, response.headers)
    assert response.json()["title"] == "no slash"


def test_login_without_its_slash_and_with_one(user, client: httpx.Client) -> None:
    """A single resource or an action does not [end in `/`] ... The other spelling
    answers the same, without a redirect."""
    form = {"username": user.email, "password": user.password}

    response = client.post(f"{API}/auth/login/", data=form)

    assert response.status_code == 200, (response.status_code, response.headers)
    assert "access_token" in response.json()


@pytest.mark.parametrize(
    "path", ["/health", "/api/v1/users/me", "/api/v1/items/", "/api/v1/nothing-here"]
)
def test_bodies_are_json(user, path: str, observe) -> None:
    """All bodies are JSON (`application/json; charset=utf-8`) unless stated."""
    response = user.client.get(path)

    assert is_json(response), response.headers.get("content-type")
    observe("content type", response.headers["content-type"])


def test_timestamps_carry_a_utc_offset_and_ids_are_integers(user) -> None:
    """Timestamps are ISO 8601 with a UTC offset. Ids are integers."""
    item = user.client.post(f"{API}/items/", json={"title": "stamp"}).json()
    me = user.client.get(f"{API}/users/me").json()

    for body in (item, me):
        for key in ("created_at", "updated_at"):
            assert is_timestamp(body[key]), body[key]
        assert type(body["id"]) is int
    assert type(item["owner_id"]) is int
