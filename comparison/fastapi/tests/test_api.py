"""The twin's own checks through HTTP; the contract suite is the full one."""

from http import HTTPStatus

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, register


def test_liveness_and_readiness(client: TestClient) -> None:
    live = client.get("/health")
    ready = client.get("/health/ready")

    assert live.json() == {"status": "healthy"}
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok"},
    }


def test_json_login_and_me(client: TestClient) -> None:
    user, _ = register(client)

    tokens = client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    me = client.get(
        "/api/v1/users/me",
        headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
    )

    assert tokens.json()["token_type"] == "bearer"
    assert tokens.json()["expires_in"] == 1800
    assert me.json()["email"] == user["email"]
    assert "password" not in me.text and "hashed" not in me.text


def test_wrong_password_is_401_with_the_bearer_challenge(client: TestClient) -> None:
    user, _ = register(client)

    response = client.post(
        "/api/v1/auth/login", data={"username": user["email"], "password": "wrong-one"}
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Incorrect email or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_refresh_rotates_and_logout_revokes(client: TestClient) -> None:
    user, auth = register(client)

    rotated = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    reused = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    new_refresh = rotated.json()["refresh_token"]
    logout = client.post(
        "/api/v1/auth/logout", headers=auth, json={"refresh_token": new_refresh}
    )
    after_logout = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": new_refresh}
    )

    assert rotated.status_code == HTTPStatus.OK
    assert reused.status_code == HTTPStatus.UNAUTHORIZED
    assert logout.status_code == HTTPStatus.NO_CONTENT
    assert after_logout.status_code == HTTPStatus.UNAUTHORIZED


def test_another_users_record_is_403_before_the_lookup(client: TestClient) -> None:
    _, auth = register(client)
    other, _ = register(client)

    existing = client.get(f"/api/v1/users/{other['id']}", headers=auth)
    missing = client.get("/api/v1/users/2000000000", headers=auth)
    listing = client.get("/api/v1/users/", headers=auth)

    assert existing.status_code == missing.status_code == HTTPStatus.FORBIDDEN
    assert listing.status_code == HTTPStatus.FORBIDDEN


def test_a_user_cannot_raise_their_own_privileges(client: TestClient) -> None:
    user, auth = register(client)

    response = client.patch(
        f"/api/v1/users/{user['id']}",
        headers=auth,
        json={"is_superuser": True, "full_name": "Eve"},
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["is_superuser"] is False
    assert response.json()["full_name"] == "Eve"


def test_items_are_private_and_listed_with_headers(client: TestClient) -> None:
    _, auth = register(client)
    _, other_auth = register(client)
    for title in ("Milk", "Oat milk", "Bread"):
        client.post(
            "/api/v1/items/", headers=auth, json={"title": title, "owner_id": 1}
        )
    foreign = client.post("/api/v1/items/", headers=other_auth, json={"title": "Milk"})

    page = client.get("/api/v1/items/?q=MILK&limit=1", headers=auth)
    hidden = client.get(f"/api/v1/items/{foreign.json()['id']}", headers=auth)

    assert page.headers["X-Total-Count"] == "2"
    assert 'rel="next"' in page.headers["Link"]
    assert [item["title"] for item in page.json()] == ["Oat milk"]
    assert hidden.status_code == HTTPStatus.NOT_FOUND


def test_both_spellings_answer_without_a_redirect(client: TestClient) -> None:
    _, auth = register(client)

    with_slash = client.get("/api/v1/items/", headers=auth, follow_redirects=False)
    without = client.get("/api/v1/items", headers=auth, follow_redirects=False)

    assert with_slash.status_code == without.status_code == HTTPStatus.OK


def test_a_short_password_is_422_naming_the_field_without_echoing_it(
    client: TestClient,
) -> None:
    response = client.post(
        "/api/v1/users/", json={"email": "short@example.com", "password": "s3cr3t!"}
    )

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json()["detail"][0]["loc"] == ["body", "password"]
    assert "s3cr3t!" not in response.text


def test_a_body_over_the_limit_is_a_json_413(client: TestClient) -> None:
    _, auth = register(client)

    response = client.post(
        "/api/v1/items/",
        headers={**auth, "Content-Type": "application/json"},
        content=b'{"title": "' + b"x" * (1024 * 1024) + b'"}',
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body too large"}


def test_every_response_has_a_request_id_and_a_process_time(client: TestClient) -> None:
    sane = client.get("/health", headers={"X-Request-ID": "abc-123.x_y"})
    insane = client.get("/nope", headers={"X-Request-ID": "no spaces!"})

    assert sane.headers["X-Request-ID"] == "abc-123.x_y"
    assert len(insane.headers["X-Request-ID"]) == 36
    assert insane.json() == {"detail": "Not Found"}
    assert float(insane.headers["X-Process-Time"]) >= 0
