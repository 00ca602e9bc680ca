"""A fresh PostgreSQL database migrated by Alembic, and one TestClient on the app.

TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/twin_test) is dropped and
created again for each run; TEST_REDIS_URL (default redis://127.0.0.1:6379/1) holds
the readiness check's ping. Rate limits are off, as in the contract run.
"""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/twin_test"
)
PASSWORD = "a-long-password-1"


async def _recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def pytest_configure(config: pytest.Config) -> None:
    """Point the app at the test database before anything imports it, and migrate."""
    asyncio.run(_recreate(DATABASE_URL))
    os.environ.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1"),
        RATE_LIMITS_ENABLED="false",
        ENVIRONMENT="test",
        LOG_LEVEL="WARNING",
    )
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, check=True
    )


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    """One client (one event loop, one pool) for the whole run, lifespan included."""
    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


def register(client: TestClient) -> tuple[dict[str, object], dict[str, str]]:
    """Register a new user through the API; return it and its bearer header."""
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    user = client.post("/api/v1/users/", json={"email": email, "password": PASSWORD})
    assert user.status_code == 201, user.text
    tokens = client.post(
        "/api/v1/auth/login", data={"username": email, "password": PASSWORD}
    ).json()
    return user.json() | tokens, {"Authorization": f"Bearer {tokens['access_token']}"}
