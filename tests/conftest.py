"""Fixtures shared by the whole suite."""

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.logging import structlog_formatter
from tests.factories import SuperuserFactory, UserFactory
from users.models import User
from users.services import token_pair_issue

BASE_DIR = Path(__file__).resolve().parent.parent
# The black-box contract suite runs against a live server: `make contract`.
collect_ignore = ["contract"]


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous DRF test client."""
    return APIClient()


@pytest.fixture
def user(db) -> User:
    """An active, ordinary user."""
    return UserFactory()


@pytest.fixture
def superuser(db) -> User:
    """A superuser."""
    return SuperuserFactory()


def bearer(client: APIClient, user: User) -> APIClient:
    """Authenticate a client as a user with a real access token, as a client would."""
    tokens = token_pair_issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client


@pytest.fixture
def user_client(user) -> APIClient:
    """A client authenticated as `user` by a bearer token."""
    return bearer(APIClient(), user)


@pytest.fixture
def superuser_client(superuser) -> APIClient:
    """A client authenticated as `superuser` by a bearer token."""
    return bearer(APIClient(), superuser)


def free_port() -> int:
    """Return a TCP port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """Return the URL of the test database this process uses, for a server process."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{params['USER']}{password}@{host}:{port}/{params['NAME']}"


def wait_for(url: str, *, timeout: float = 30.0) -> None:
    """Wait until a URL answers, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class LiveServer:
    """A gunicorn process serving the test database, as in production (DEBUG off)."""

    def __init__(
        self,
        *,
        extra_env: dict[str, str] | None = None,
        workers: int = 2,
        args: list[str] | None = None,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = BASE_DIR / ".pytest_cache" / f"gunicorn-{self.port}.log"
        self.log.parent.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": database_url(),
            "DJANGO_STATIC_ROOT": str(_static_root()),
            "WHITENOISE_USE_FINDERS": "false",
            **(extra_env or {}),
        }
        self.workers = workers
        self.args = args or []  # more gunicorn flags, e.g. ["-c", "config/gunicorn.py"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 120.0) -> "LiveServer":
        """Start gunicorn and wait until /health answers, for up to timeout seconds.

        A generous default: on a loaded CI machine four workers took over 30 s.
        """
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "gunicorn", "config.wsgi",
                    "--bind", f"127.0.0.1:{self.port}",
                    "--workers", str(self.workers),
                    "--graceful-timeout", "5",
                    *self.args,
                ],
                cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_for(f"{self.url}/health", timeout=timeout)
        except OSError:
            self.stop()
            raise RuntimeError(
                f"gunicorn did not start: {self.log.read_text()}"
            ) from None
        return self

    def stop(self) -> None:
        """Stop gunicorn (SIGTERM, then SIGKILL after 10 s)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_STATIC_ROOT: Path | None = None


def _static_root() -> Path:
    """Collect the static files once per run, as a deploy does (manifest and gzip)."""
    global _STATIC_ROOT  # noqa: PLW0603 - collected once per test run
    if _STATIC_ROOT is None:
        root = BASE_DIR / ".pytest_cache" / "staticfiles"
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.test_settings",
                "DJANGO_DEBUG": "false",
                "DJANGO_STATIC_ROOT": str(root),
            },
            check=True,
        )
        _STATIC_ROOT = root
    return _STATIC_ROOT


@pytest.fixture
def live_server_factory(transactional_db) -> Iterator[type[LiveServer]]:
    """Start gunicorn servers on the test database; all are stopped after the test."""
    servers: list[LiveServer] = []

    def start(**kwargs) -> LiveServer:
        server = LiveServer(**kwargs).start()
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
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
class CapturedLogs:
    """Every log line written while capturing, rendered as the service renders it."""

    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        """All the lines, as written."""
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        """The lines parsed, when captured as JSON."""
        return [json.loads(line) for line in self.text.splitlines()]


@contextmanager
def capture_logs(
    fmt: str = "json", level: int = logging.DEBUG
) -> Iterator[CapturedLogs]:
    """Capture every log line (stdlib and structlog), rendered by the service as fmt."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog_formatter(fmt))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


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
