"""Liveness and readiness, on a working database and on unreachable ones."""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient


def test_liveness_answers_healthy(api_client):
    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "healthy"}


@pytest.mark.django_db
def test_readiness_reports_database_and_cache_ok(api_client):
    response = api_client.get("/health/ready")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok"},
    }


def test_health_refuses_post_with_json_405(api_client):
    response = api_client.post("/health")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD"
    assert "detail" in response.json()


@pytest.mark.parametrize("method", ["POST", "QUERY", "DELETE"])
@pytest.mark.parametrize("path", ["/health", "/health/ready"])
def test_health_answers_405_to_other_methods_even_with_csrf_checks(method, path):
    # Browsers and fuzzers send no CSRF token; the test client skips the check.
    client = APIClient(enforce_csrf_checks=True)

    response = client.generic(method, path)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.live
def test_readiness_503_when_database_unreachable_and_liveness_still_200(
    live_server_factory,
):
    import urllib.error
    import urllib.request

    server = live_server_factory(
        extra_env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere"}
    )

    assert urllib.request.urlopen(f"{server.url}/health").status == HTTPStatus.OK
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{server.url}/health/ready")
    assert error.value.code == HTTPStatus.SERVICE_UNAVAILABLE
    body = error.value.read().decode()
    assert '"status": "unavailable"' in body
    assert '"database": "error: OperationalError"' in body
    assert '"cache": "ok"' in body
