"""Contract: the server with its database or cache unreachable, and back.

Marked `faults`: they need the runner's fault proxies (CONTRACT_FAULTS_URL, set by
scripts/contract.py), which sit between the server and PostgreSQL and Redis. The
`faults` fixture switches a dependency off and, afterwards, on again, and waits until
the server is ready.
"""

import time

import httpx
import pytest

from tests.contract.helpers import API, error_detail, is_json

pytestmark = pytest.mark.faults
LEAKS = ("Traceback", 'File "', "psycopg", "asyncpg", "sqlalchemy", "SELECT ")


def test_liveness_touches_no_database(faults, client: httpx.Client) -> None:
    """`GET /health` | 200 `{"status": "healthy"}`; touches no database
    (liveness)."""
    faults("database", "kill")
    faults("cache", "kill")

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


@pytest.mark.parametrize(("down", "up"), [("database", "cache"), ("cache", "database")])
def test_readiness_names_the_failing_check(
    faults, client: httpx.Client, down: str, up: str, observe
) -> None:
    """`GET /health/ready` | ... 503 with the same shape, `"status": "unavailable"`
    and the failing check's value an error string, when PostgreSQL/SQLite or the
    cache cannot be reached."""
    faults(down, "kill")

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert is_json(response)
    body = response.json()
    assert set(body) == {"status", "checks"}
    assert body["status"] == "unavailable"
    assert body["checks"][up] == "ok"
    assert isinstance(body["checks"][down], str)
    assert body["checks"][down] not in ("", "ok")
    observe(f"{down} check", body["checks"][down])


def test_database_down_is_503_json_with_retry_after(faults, user, observe) -> None:
    """PostgreSQL unreachable: 503 JSON with `Retry-After`. No stack trace, SQL,
    settings value or secret ever reaches a response in production mode."""
    faults("database", "kill")

    response = user.client.get(f"{API}/items/")

    assert response.status_code == 503, response.text[:300]
    assert error_detail(response)
    assert response.headers.get("retry-after", "").isdigit(), response.headers
    for marker in LEAKS:
        assert marker not in response.text
    observe("detail", response.json()["detail"])


def test_the_service_recovers_when_the_database_is_back(faults, user) -> None:
    """PostgreSQL unreachable: 503 ... and the service recovers by itself when the
    database is back, with no restart."""
    faults("database", "kill")
    assert user.client.get(f"{API}/items/").status_code == 503

    faults("database", "pass")

    deadline = time.monotonic() + 30
    while (status := user.client.get(f"{API}/items/").status_code) != 200:
        assert status == 503, status
        assert time.monotonic() < deadline, "503 for 30 s after the database was back"
        time.sleep(0.5)
    assert user.client.post(f"{API}/items/", json={"title": "back"}).status_code == 201


def test_with_the_cache_down_the_api_keeps_serving(faults, user) -> None:
    """Redis unreachable: the API keeps serving (general rate limits let requests
    through and the failure is logged)."""
    faults("cache", "kill")

    listed = user.client.get(f"{API}/items/")
    created = user.client.post(f"{API}/items/", json={"title": "cache down"})

    assert listed.status_code == 200
    assert created.status_code == 201
    assert user.client.get(f"{API}/items/").headers["x-total-count"] == "1"
