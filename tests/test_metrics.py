"""GET /metrics: request counts and latency by route and status, dependency errors."""

import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path

import pytest
import redis
from django.test import override_settings
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.support.http import send_request
from tests.test_request_id import UNREACHABLE_REDIS
from users.services import token_pair_issue

HEALTH_200 = {"method": "GET", "route": "health", "status": "200"}


def sample(text: str, name: str, labels: dict[str, str]) -> float:
    """The value of one sample in a Prometheus text page; 0 when it is absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0.0


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def test_metrics_count_requests_by_route_and_status(api_client):
    before = scrape(api_client)

    for _ in range(3):
        api_client.get("/health")
    api_client.post("/health")
    after = scrape(api_client)

    count = "http_requests_total"
    assert sample(after, count, HEALTH_200) - sample(before, count, HEALTH_200) == 3
    health_405 = {"method": "POST", "route": "health", "status": "405"}
    assert sample(after, count, health_405) - sample(before, count, health_405) == 1
    latency = "http_request_duration_seconds_count"
    assert sample(after, latency, HEALTH_200) - sample(before, latency, HEALTH_200) == 3


def test_the_observed_latency_is_the_process_time_header(api_client):
    before = scrape(api_client)

    response = api_client.get("/health")
    after = scrape(api_client)

    latency = "http_request_duration_seconds_sum"
    observed = sample(after, latency, HEALTH_200) - sample(before, latency, HEALTH_200)
    assert observed == pytest.approx(float(response["X-Process-Time"]), abs=1e-6)


def test_metrics_are_prometheus_text_with_latency_buckets(api_client):
    api_client.get("/health")

    response = api_client.get("/metrics")

    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    inf_bucket = {**HEALTH_200, "le": "+Inf"}
    assert sample(text, "http_request_duration_seconds_bucket", inf_bucket) >= 1
    assert "# TYPE dependency_errors_total counter" in text


def test_unknown_methods_and_paths_add_no_series(api_client):
    api_client.generic("BREW", "/health")
    api_client.get("/some/random/path/12345")

    text = scrape(api_client)

    assert "BREW" not in text
    assert "12345" not in text
    other = {"method": "other", "route": "health", "status": "405"}
    not_found = {"method": "GET", "route": "not-found", "status": "404"}
    assert sample(text, "http_requests_total", other) >= 1
    assert sample(text, "http_requests_total", not_found) >= 1


@pytest.mark.django_db
@override_settings(CACHES=UNREACHABLE_REDIS)
def test_cache_errors_are_counted(api_client):
    cache = {"dependency": "cache"}
    before = sample(scrape(api_client), "dependency_errors_total", cache)

    response = api_client.get("/health/ready")
    after = sample(scrape(api_client), "dependency_errors_total", cache)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert after - before == 1


@pytest.fixture
def redis_cache() -> dict:
    """CACHES on the test Redis (TEST_REDIS_URL); skipped when there is none."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: no Redis to test against")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip(f"Redis at {url} is unreachable")
    return {
        "default": {
            "BACKEND": "core.cache.SharedClientRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "test-metrics",
        }
    }


@pytest.mark.django_db
def test_no_cache_error_is_counted_while_redis_answers(api_client, redis_cache):
    cache = {"dependency": "cache"}
    with override_settings(CACHES=redis_cache):
        before = sample(scrape(api_client), "dependency_errors_total", cache)

        response = api_client.get("/health/ready")
        after = sample(scrape(api_client), "dependency_errors_total", cache)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["checks"]["cache"] == "ok"
    assert after == before


def test_metrics_refuse_post_with_json_405(api_client):
    response = api_client.post("/metrics")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD"
    assert "detail" in response.json()


@override_settings(METRICS_ENABLED=False)
def test_metrics_are_404_json_when_disabled(api_client):
    response = api_client.get("/metrics")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Not found."}


# THE METRICS TOKEN: scrapers only
# ------------------------------------------------------------------------------
METRICS_TOKEN = "scraper-token-0123456789abcdefghijklmnop"


@override_settings(METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        f"Basic {METRICS_TOKEN}",
        f"Bearer {METRICS_TOKEN}x",
        f"Bearer {METRICS_TOKEN[:-1]}",
        "Bearer \u00e9t\u00e9",
    ],
    ids=["missing", "wrong", "other-scheme", "longer", "shorter", "non-ascii"],
)
def test_with_a_metrics_token_other_requests_are_401(api_client, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = api_client.get("/metrics", **extra)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"detail": "A valid metrics token is required."}
    assert b"http_requests_total" not in response.content


@override_settings(METRICS_TOKEN=METRICS_TOKEN)
@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_a_scraper_with_the_metrics_token_gets_the_metrics(api_client, scheme):
    response = api_client.get(
        "/metrics", HTTP_AUTHORIZATION=f"{scheme} {METRICS_TOKEN}"
    )

    assert response.status_code == HTTPStatus.OK
    assert "http_requests_total" in response.content.decode()


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ENABLED=False)
def test_disabled_metrics_are_404_even_with_the_token(api_client):
    response = api_client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_the_shipped_nginx_blocks_metrics_from_the_public():
    nginx = (
        Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"
    ).read_text()

    block = nginx.split("location ~ ^/metrics/?$", 1)[1].split("}", 1)[0]
    assert "return 404" in block
    assert "proxy_pass" not in block
    # Before the catch-all that proxies to the app (regex locations win anyway).
    assert nginx.index("location ~ ^/metrics/?$") < nginx.index("location / {")


# LIVE: several worker processes
# ------------------------------------------------------------------------------
def get(url: str, method: str = "GET", token: str = "") -> tuple[int, str]:
    """Send a request to a live server; return the status and the body text."""
    status, _, raw = send_request(method, url, token=token)
    return status, raw.decode()


def counts_per_worker(folder: Path, labels: dict[str, str]) -> list[float]:
    """The request count that each worker process wrote to its own file."""
    counts = []
    for path in folder.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(path)], accumulate=False)
        counts.append(
            sum(
                s.value
                for m in metrics
                for s in m.samples
                if s.name == "http_requests_total" and s.labels == labels
            )
        )
    return counts


@pytest.mark.live
def test_metrics_add_up_the_requests_of_every_worker(live_server_factory, tmp_path):
    server = live_server_factory(
        workers=2,
        extra_env={
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "METRICS_TOKEN": METRICS_TOKEN,  # as in production
        },
    )
    # HEAD: the fixture's start-up probes (GET /health) may still be in flight.
    head = {"method": "HEAD", "route": "health", "status": "200"}
    sent = 0
    statuses: list[int] = []

    # Concurrent clients until both sync workers have answered some (a worker that
    # is slow to start may miss the first batch).
    with ThreadPoolExecutor(max_workers=8) as pool:
        while (
            sent < 600 and len([n for n in counts_per_worker(tmp_path, head) if n]) < 2
        ):
            statuses += pool.map(
                lambda _: get(f"{server.url}/health", "HEAD")[0], range(40)
            )
            sent += 40
    with urllib.request.urlopen(f"{server.url}/static/admin/css/base.css") as static:
        static_headers = static.headers
    unauthorized, _ = get(f"{server.url}/metrics")
    status, text = get(f"{server.url}/metrics", token=METRICS_TOKEN)

    assert unauthorized == HTTPStatus.UNAUTHORIZED
    assert static_headers["X-Request-ID"]  # whitenoise's answers get one too
    assert sample(text, "http_requests_total", {**HEALTH_200, "route": "unrouted"}) == 1
    assert statuses == [HTTPStatus.OK] * sent
    assert status == HTTPStatus.OK
    per_worker = counts_per_worker(tmp_path, head)
    assert len([n for n in per_worker if n]) == 2
    assert sample(text, "http_requests_total", head) == sum(per_worker) == sent


@pytest.mark.live
def test_database_errors_are_counted_while_the_database_is_down(
    live_server_factory, user, tmp_path
):
    token = token_pair_issue(user=user)["access_token"]
    server = live_server_factory(
        workers=1,
        extra_env={
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        },
    )
    request = urllib.request.Request(
        f"{server.url}/api/v1/items/", headers={"Authorization": f"Bearer {token}"}
    )

    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    ready_status, _ = get(f"{server.url}/health/ready")
    status, text = get(f"{server.url}/metrics")

    assert error.value.code == HTTPStatus.SERVICE_UNAVAILABLE
    assert error.value.headers["Retry-After"]
    assert error.value.headers["X-Request-ID"]  # on a 503 too
    assert float(error.value.headers["X-Process-Time"]) >= 0
    assert ready_status == HTTPStatus.SERVICE_UNAVAILABLE
    assert status == HTTPStatus.OK
    assert sample(text, "dependency_errors_total", {"dependency": "database"}) == 2
    items_503 = {"method": "GET", "route": "api:item-list", "status": "503"}
    assert sample(text, "http_requests_total", items_503) == 1


@pytest.mark.live
def test_a_database_outage_on_an_admin_page_is_counted_once(
    live_server_factory, tmp_path
):
    server = live_server_factory(
        workers=1,
        extra_env={
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        },
    )
    request = urllib.request.Request(
        f"{server.url}/admin/", headers={"Cookie": "sessionid=" + "a1" * 16}
    )

    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    status, text = get(f"{server.url}/metrics")

    assert error.value.code == HTTPStatus.SERVICE_UNAVAILABLE
    assert status == HTTPStatus.OK
    assert sample(text, "dependency_errors_total", {"dependency": "database"}) == 1
