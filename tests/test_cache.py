"""The shared cache's backend (core/cache.py): one redis-py client per pool.

Requests run on the real Redis of the tests (TEST_REDIS_URL), the restart through
the fault proxy of tests/support/faultproxy.py.
"""

import uuid
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
import redis
from django.core.cache import caches
from rest_framework.test import APIClient

from core.cache import SharedClientRedisCache
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.faultproxy import FaultProxy
from tests.support.http import bearer

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"


def shared_cache(settings, location: str) -> SharedClientRedisCache:
    """Point the cache at a Redis, with rate limits on: every request reads it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.SharedClientRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # nothing shared, no flush
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.RATE_LIMITS_ENABLED = True
    backend = caches["default"]  # a new backend: the settings changed
    assert isinstance(backend, SharedClientRedisCache)
    return backend


@pytest.fixture
def redis_clients_made(monkeypatch) -> list[redis.Redis]:
    """Record every redis-py client made from now on (the clients work as usual)."""
    made: list[redis.Redis] = []
    original = redis.Redis.__init__

    def recording_init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(redis.Redis, "__init__", recording_init)
    return made


def test_requests_share_one_redis_client(settings, redis_url, redis_clients_made):
    cache = shared_cache(settings, redis_url)
    client = bearer(APIClient(), UserFactory.create())

    # Each: the revoked-session read and the user's rate-limit count.
    statuses = [client.get("/api/v1/users/me").status_code for _ in range(5)]

    assert statuses == [HTTPStatus.OK] * 5
    assert len(redis_clients_made) == 1
    assert cache.redis_client() is redis_clients_made[0]
    assert cache.redis_client(write=False) is redis_clients_made[0]  # one server


def test_the_client_outlives_a_redis_restart(settings, redis_url):
    parts = urlsplit(redis_url)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 6379).start()
    try:
        cache = shared_cache(settings, f"redis://127.0.0.1:{proxy.port}{parts.path}")
        user = UserFactory.create()
        credentials = {"username": user.email, "password": DEFAULT_PASSWORD}
        before = APIClient().post(LOGIN, credentials)
        client = cache.redis_client()

        proxy.set_mode("kill")  # Redis goes away, with every pooled connection
        during = APIClient().post(LOGIN, credentials)
        ready_during = APIClient().get("/health/ready")
        proxy.set_mode("pass")  # and comes back
        after = APIClient().post(LOGIN, credentials)
        ready_after = APIClient().get("/health/ready")
    finally:
        proxy.stop()

    assert before.status_code == HTTPStatus.OK
    assert during.status_code == HTTPStatus.SERVICE_UNAVAILABLE  # login fails closed
    assert ready_during.json()["checks"]["cache"].startswith("error")
    assert after.status_code == HTTPStatus.OK
    assert ready_after.status_code == HTTPStatus.OK
    assert cache.redis_client() is client
