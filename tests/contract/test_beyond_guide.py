"""Contract: Beyond the guide's service (password change and reset, metrics).

Marked `beyond_guide`: a run with CONTRACT_BEYOND_GUIDE=0 (the twin's) skips them.
"""

import os

import httpx
import pytest

from tests.contract.helpers import (
    API,
    assert_bearer_challenge,
    assert_validation_error,
    error_detail,
    is_json,
    unique_email,
)

pytestmark = pytest.mark.beyond_guide


def login_status(client: httpx.Client, email: str, password: str) -> int:
    """Return the status of a login attempt."""
    form = {"username": email, "password": password}
    return client.post(f"{API}/auth/login", data=form).status_code


def test_password_change_revokes_every_refresh_token(
    client: httpx.Client, user
) -> None:
    """`POST /api/v1/users/me/password` | authenticated | JSON `{"current_password",
    "new_password"}` | 204; every refresh token of the user is revoked, so other
    sessions must log in again."""
    other_session = client.post(
        f"{API}/auth/login", data={"username": user.email, "password": user.password}
    ).json()

    response = user.client.post(
        f"{API}/users/me/password",
        json={"current_password": user.password, "new_password": "brand-new-pw-77"},
    )

    assert response.status_code == 204
    for token in (user.refresh_token, other_session["refresh_token"]):
        refresh = client.post(f"{API}/auth/refresh", json={"refresh_token": token})
        assert refresh.status_code in (400, 401), refresh.text
    assert login_status(client, user.email, user.password) == 401
    assert login_status(client, user.email, "brand-new-pw-77") == 200


@pytest.mark.parametrize(
    ("current", "new"),
    [("wrong-current-pw", "brand-new-pw-77"), (None, "short"), (None, "password")],
    ids=["wrong-current", "too-short", "too-common"],
)
def test_password_change_refuses_a_wrong_or_weak_password(
    client: httpx.Client, user, current, new: str
) -> None:
    """`POST /api/v1/users/me/password` | ... | 400 wrong current password or a weak
    new one (Django's password validators)."""
    response = user.client.post(
        f"{API}/users/me/password",
        json={"current_password": current or user.password, "new_password": new},
    )

    assert response.status_code == 400, response.text
    error_detail(response)
    assert login_status(client, user.email, user.password) == 200


def test_password_change_needs_a_login(client: httpx.Client) -> None:
    """`POST /api/v1/users/me/password` | authenticated."""
    response = client.post(
        f"{API}/users/me/password",
        json={"current_password": "whatever-1", "new_password": "brand-new-pw-77"},
    )

    assert_bearer_challenge(response)


def test_password_recovery_answers_the_same_either_way(
    client: httpx.Client, user
) -> None:
    """`POST /api/v1/auth/password-recovery` | anyone | JSON `{"email"}` | 202
    `{"detail": ...}` with the same body whether or not the email is registered."""
    known = client.post(f"{API}/auth/password-recovery", json={"email": user.email})
    unknown = client.post(
        f"{API}/auth/password-recovery", json={"email": unique_email()}
    )

    assert known.status_code == 202
    assert unknown.status_code == 202
    assert is_json(known)
    assert known.json() == unknown.json()
    assert isinstance(error_detail(known), str)


@pytest.mark.parametrize("email", ["not-an-email", "", None])
def test_password_recovery_refuses_a_bad_email(
    client: httpx.Client, email, observe
) -> None:
    """`POST /api/v1/auth/password-recovery` | ... | 400/422 bad email."""
    response = client.post(f"{API}/auth/password-recovery", json={"email": email})

    assert_validation_error(response, "email", observe)


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "MQ", "token": "not-a-token", "new_password": "brand-new-pw-77"},
        {"uid": "!!!", "token": "x-y", "new_password": "brand-new-pw-77"},
        {"uid": "", "token": "", "new_password": "brand-new-pw-77"},
    ],
    ids=["bad-token", "bad-uid", "empty"],
)
def test_reset_password_refuses_an_invalid_token(
    client: httpx.Client, body: dict
) -> None:
    """`POST /api/v1/auth/reset-password` | ... | 400 for an invalid, used or expired
    token, or a weak password."""
    response = client.post(f"{API}/auth/reset-password", json=body)

    assert response.status_code == 400, response.text
    error_detail(response)


def test_metrics_are_prometheus_text_where_enabled(client: httpx.Client, observe):
    """`GET /metrics` | scrapers, where enabled | Prometheus text format: request
    counts and latency by route and status ... | 404 where metrics are disabled."""
    client.get("/health")
    token = os.environ.get("CONTRACT_METRICS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = client.get("/metrics", headers=headers)

    observe("anonymous status" if not token else "scraper status", response.status_code)
    assert response.status_code in (200, 401, 403, 404), response.status_code
    if response.status_code != 200:
        error_detail(response)
        return
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE" in text
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert any("status=" in line and "route=" in line for line in samples)
    assert any("_bucket" in line for line in samples)
