"""Fixtures shared by the whole suite."""

import os
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from tests.factories import SuperuserFactory, UserFactory
from tests.support.http import bearer
from tests.support.live_server import LiveServer
from tests.support.logs import CapturedLogs, capture_logs
from users.models import User

# The black-box contract suite runs against a live server: `make contract`.
collect_ignore = ["contract"]


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous DRF test client."""
    return APIClient()


@pytest.fixture
def user(db) -> User:
    """An active, ordinary user."""
    return UserFactory.create()


@pytest.fixture
def superuser(db) -> User:
    """A superuser."""
    return SuperuserFactory.create()


@pytest.fixture
def user_client(user) -> APIClient:
    """A client authenticated as `user` by a bearer token."""
    return bearer(APIClient(), user)


@pytest.fixture
def superuser_client(superuser) -> APIClient:
    """A client authenticated as `superuser` by a bearer token."""
    return bearer(APIClient(), superuser)


@pytest.fixture
def live_server_factory(transactional_db) -> Iterator[Callable[..., LiveServer]]:
    """Start gunicorn servers on the test database; all are stopped after the test."""
    servers: list[LiveServer] = []

    def start(**kwargs) -> LiveServer:
        server = LiveServer(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def gunicorn_server(request, live_server_factory) -> LiveServer:
    """One gunicorn server on the test database, DEBUG off.

    Parametrize it indirectly with LiveServer's keywords to change it, e.g.
    `@pytest.mark.parametrize("gunicorn_server", [{"workers": 4}], indirect=True)`.
    """
    return live_server_factory(**getattr(request, "param", {}))


# LOG CAPTURE
# ------------------------------------------------------------------------------
@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    """Capture every log line of the test (DEBUG and up) as production's JSON."""
    with capture_logs("json") as captured:
        yield captured


# REDIS (rate limits, Celery): only the database named by TEST_REDIS_URL
# ------------------------------------------------------------------------------
@pytest.fixture
def redis_url() -> str:
    """The URL of the Redis database that tests may use; skip when there is none."""
    import redis

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15)")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at TEST_REDIS_URL is unreachable: {type(exc).__name__}")
    return url


@pytest.fixture(autouse=True)
def _closed_cache_breaker() -> Iterator[None]:
    """Start and end every test with the cache breaker closed: it is per process."""
    from core.breaker import cache_breaker

    cache_breaker.reset()
    yield
    cache_breaker.reset()
