"""Faults between the service and its dependencies, through tests/support/faultproxy.

Each test starts gunicorn on the test database (PostgreSQL) or Redis behind the
proxy, injects a fault and asserts what a client gets, with timings as bounds.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http import HTTPStatus
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from tests.conftest import database_url
from tests.factories import UserFactory
from tests.support.faultproxy import FaultProxy
from users.services import token_pair_issue

pytestmark = pytest.mark.live


def call(
    url: str, token: str = "", timeout: float = 20
) -> tuple[int, dict, str, float]:
    """GET url; return status, headers, body and the seconds it took (0: no answer)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.monotonic()
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            result = response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        result = error.code, dict(error.headers), error.read().decode()
    except OSError:
        result = 0, {}, ""
    return (*result, time.monotonic() - started)


@pytest.fixture
def db_proxy(transactional_db) -> Iterator[tuple[FaultProxy, str]]:
    """A fault proxy in front of the test database, and the URL through it."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    parts = urlsplit(database_url())
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    netloc = parts.netloc.rsplit("@", 1)
    user = f"{netloc[0]}@" if len(netloc) == 2 else ""
    yield proxy, urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))
    proxy.stop()


@pytest.mark.parametrize("freeze", ["freeze", "hang"])
def test_stalled_database_answers_503_within_5_s_and_recovers(
    live_server_factory, db_proxy, freeze
):
    proxy, url = db_proxy
    token = token_pair_issue(user=UserFactory())["access_token"]
    server = live_server_factory(extra_env={"DATABASE_URL": url}, workers=1)
    me = f"{server.url}/api/v1/users/me"
    assert call(me, token)[0] == HTTPStatus.OK  # a persistent connection is open

    proxy.set_mode(freeze)
    stalled = [call(me, token) for _ in range(2)]

    for status, headers, body, seconds in stalled:
        assert status == HTTPStatus.SERVICE_UNAVAILABLE
        assert seconds < 5
        assert int(headers["Retry-After"]) > 0
        assert "detail" in json.loads(body)
    proxy.set_mode("pass")
    deadline = time.monotonic() + 10
    while call(me, token)[0] != HTTPStatus.OK:
        assert time.monotonic() < deadline, "no recovery within 10 s"
        time.sleep(0.2)
    assert "Traceback" not in server.log.read_text()
