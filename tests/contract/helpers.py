"""What the contract tests share: the base URL, clients, accounts and checks."""

import base64
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
API = "/api/v1"
USER_KEYS = {
    "id",
    "email",
    "full_name",
    "is_active",
    "is_superuser",
    "created_at",
    "updated_at",
}
ITEM_KEYS = {"id", "title", "description", "owner_id", "created_at", "updated_at"}
TOKEN_KEYS = ("access_token", "refresh_token", "token_type", "expires_in")
TARGET = os.environ.get("CONTRACT_TARGET", "server")
# What may answer a validation error, by the contract: 400 (DRF) or 422 (FastAPI).
VALIDATION_STATUSES = (400, 422)


def known_gap(issue: int, reason: str) -> pytest.MarkDecorator:
    """Mark a test that our service fails today, as the issue says; strict, so that
    the mark goes when the gap is closed. Other targets run the test as it is."""
    return pytest.mark.xfail(
        TARGET == "ours", strict=True, reason=f"issue {issue}: {reason}"
    )


def new_client(**headers: str) -> httpx.Client:
    """Return a client on BASE_URL that follows no redirect (the contract has none)."""
    return httpx.Client(base_url=BASE_URL, timeout=30.0, headers=headers)


def authorized(token: str) -> httpx.Client:
    """Return a new client that sends `Authorization: Bearer <token>`."""
    return new_client(Authorization=f"Bearer {token}")


def unique_email(prefix: str = "c") -> str:
    """Return an email address no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}@example.com"


@dataclass
class Account:
    """A user made through the API, with its tokens and an authenticated client."""

    id: int
    email: str
    password: str
    access_token: str
    refresh_token: str
    body: dict[str, Any] = field(default_factory=dict)
    _client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        """A client that sends this account's access token."""
        if self._client is None:
            self._client = new_client(Authorization=f"Bearer {self.access_token}")
        return self._client

    def close(self) -> None:
        """Close the account's client."""
        if self._client is not None:
            self._client.close()


# Passwords and tokens the run has used: scripts/contract.py looks for them in the
# server's log afterwards (CONTRACT_SECRETS_FILE), where none may appear.
SECRETS: set[str] = set()


def register(
    client: httpx.Client, *, email: str, password: str, **fields: Any
) -> dict[str, Any]:
    """Register a user through POST /users/ and return the body; fail unless 201."""
    SECRETS.add(password)
    response = client.post(
        f"{API}/users/", json={"email": email, "password": password, **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


def log_in(client: httpx.Client, email: str, password: str) -> dict[str, Any]:
    """Log in with the OAuth2 password form; return the token pair, fail unless 200."""
    response = client.post(
        f"{API}/auth/login", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    SECRETS.update((password, *(response.json()[key] for key in TOKEN_KEYS[:2])))
    return response.json()


def create_item(account: Account, **fields: Any) -> dict[str, Any]:
    """Create an item as the account and return it; fail unless 201."""
    body = {"title": f"item {uuid.uuid4().hex[:8]}", **fields}
    response = account.client.post(f"{API}/items/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def token_claims(token: str) -> dict[str, Any]:
    """Return the claims of a JWT, unverified (the client's view of it)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def token_header(token: str) -> dict[str, Any]:
    """Return the JOSE header of a JWT."""
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))


def is_timestamp(value: Any) -> bool:
    """Say whether value is an ISO 8601 timestamp with a UTC offset."""
    if not isinstance(value, str):
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.utcoffset() is not None


def is_json(response: httpx.Response) -> bool:
    """Say whether the response declares and holds JSON."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type != "application/json":
        return False
    try:
        response.json()
    except ValueError:
        return False
    return True


def error_detail(response: httpx.Response) -> Any:
    """Return the `detail` of a JSON error body; fail when there is none."""
    assert is_json(response), (response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body, dict), body
    assert "detail" in body, body
    return body["detail"]


def names_field(detail: Any, name: str) -> bool:
    """Say whether a validation error's detail names the field or parameter."""
    if isinstance(detail, dict):
        return name in detail or any(names_field(v, name) for v in detail.values())
    if isinstance(detail, list):
        return any(
            (isinstance(entry, dict) and name in map(str, entry.get("loc", [])))
            or names_field(entry, name)
            for entry in detail
        )
    return isinstance(detail, str) and name in detail


def shape(detail: Any) -> str:
    """Name the shape of an error's detail, for the variants record."""
    if isinstance(detail, dict):
        return "object of fields"
    if isinstance(detail, list):
        return "list of errors"
    return type(detail).__name__


def assert_validation_error(
    response: httpx.Response, name: str, observe: Any, key: str = "validation"
) -> None:
    """Check a 400/422 that names the field or parameter; record which variant."""
    assert response.status_code in VALIDATION_STATUSES, (
        response.status_code,
        response.text[:300],
    )
    detail = error_detail(response)
    assert names_field(detail, name), detail
    observe(f"{key} status", response.status_code)
    observe(f"{key} detail shape", shape(detail))


def assert_bearer_challenge(response: httpx.Response) -> None:
    """Check a 401 JSON error with `WWW-Authenticate: Bearer`."""
    assert response.status_code == 401, (response.status_code, response.text[:300])
    error_detail(response)
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.split(" ")[0].split(",")[0].lower() == "bearer", challenge


def link_relations(response: httpx.Response) -> dict[str, str]:
    """Return the RFC 8288 Link header's relations, rel -> URL."""
    links = {}
    for link in response.headers.get_list("link", split_commas=True):
        parts = [part.strip() for part in link.split(";")]
        target = parts[0]
        if not (target.startswith("<") and target.endswith(">")):
            continue
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "rel":
                for rel in value.strip().strip('"').split():
                    links[rel.lower()] = target[1:-1]
    return links
