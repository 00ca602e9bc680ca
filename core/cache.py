"""The shared cache's backend: Django's RedisCache, with one redis-py client per pool.

Django's RedisCacheClient.get_client() builds a new `redis.Redis` on every cache call
(a client is only a handle on a connection pool, but its __init__ fills a table of
some 170 response callbacks): profiled, that was about 12% of the CPU time of
`GET /api/v1/users/me`, spent on the session-revocation read (users/tokens.py). Here
the client of each pool is made once and shared by every thread of the process, as
redis-py allows (each command borrows a connection from the pool and gives it back).

The rate limits (core/throttling.py) need commands that Django's cache API lacks (a
MULTI/EXEC pipeline): they take the client through `redis_client()`, the one public
way to it. Connections lost with a Redis restart are replaced by the pool itself, so
the shared client outlives them.
"""

import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis import ConnectionPool, Redis
from redis.exceptions import RedisError

# Errors of a cache that cannot be reached (redis-py's own, or a socket error).
CACHE_ERRORS = (RedisError, OSError)


class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, handing out one redis-py client per pool."""

    # Django's own (django/core/cache/backends/redis.py), left out of django-stubs.
    _client: type[Redis]
    _get_connection_pool: Callable[[bool], ConnectionPool]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up as Django does, with no client made yet."""
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Redis] = {}  # by id() of a pool Django keeps
        self._lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        """Return the redis-py client of the pool for this call, made once."""
        # Django makes a pool on first use without a lock: threads could race.
        with self._lock:
            pool = self._get_connection_pool(write)
            client = self._clients.get(id(pool))
            if client is None:
                client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class SharedClientRedisCache(RedisCache):
    """Django's RedisCache on SharedClientRedisCacheClient (CACHES' BACKEND)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        """Configure as Django's RedisCache, with the shared-client cache client."""
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def redis_client(self, *, write: bool = True) -> Redis:
        """Return the process's redis-py client of the write (or a read) server."""
        return self._cache.get_client(write=write)
