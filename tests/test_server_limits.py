"""The HTTP server's own limits answer JSON, and keep-alive tells the truth."""

import http.client
import json
import socket
from http import HTTPStatus

import pytest

from tests.test_gunicorn import CONFIG, gunicorn_config, setting

WORKER_CLASSES = ["sync", "gthread"]
LIMIT = 1024 * 1024  # MAX_REQUEST_BODY_BYTES


class ReadResponse(http.client.HTTPResponse):
    """An answer read to its end at once, its body kept in `body`."""

    body: bytes = b""


def raw_exchange(url: str, request: bytes) -> ReadResponse:
    """Send raw bytes as one request; return the parsed (and read) answer."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=15)
    sock.sendall(request)
    response = ReadResponse(sock)
    response.begin()
    response.body = response.read()
    sock.close()
    return response


def get(url: str, target: str, **headers: str) -> ReadResponse:
    """GET a target with these header lines, written as given."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\n{lines}\r\n"
    return raw_exchange(url, request.encode("latin-1"))


def assert_json_error(response: ReadResponse, status: int) -> str:
    """Check a JSON error answer that closes the connection; return its detail."""
    body = response.body
    assert response.status == status, body
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("Connection") == "close"
    assert response.getheader("X-Request-ID")
    assert int(response.getheader("Content-Length", "-1")) == len(body)
    detail = json.loads(body)["detail"]
    assert isinstance(detail, str)
    assert "<" not in detail
    return detail


@pytest.mark.parametrize(
    ("env", "worker_class"),
    [
        ({}, "config.workers.ThreadWorker"),  # the default is gthread
        ({"GUNICORN_WORKER_CLASS": "sync"}, "config.workers.SyncWorker"),
        (
            {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_THREADS": "1"},
            "config.workers.ThreadWorker",
        ),
        # gunicorn would turn it into its own gthread worker, with HTML errors.
        (
            {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_THREADS": "2"},
            "config.workers.ThreadWorker",
        ),
    ],
)  # fmt: skip
def test_every_worker_class_offered_answers_json(env, worker_class):
    result = gunicorn_config(**env)

    assert result.returncode == 0, result.stderr
    assert setting(result.stdout, "worker_class") == worker_class


@pytest.fixture(params=WORKER_CLASSES)
def server(request, live_server_factory):
    """gunicorn with config/gunicorn.py and each worker class it offers."""
    return live_server_factory(
        extra_env={"GUNICORN_WORKER_CLASS": request.param}, args=CONFIG, workers=1
    )


@pytest.mark.live
def test_gunicorns_own_refusals_are_json(server):
    long_query = get(server.url, "/api/v1/items/?q=" + "a" * 5000)
    big_header = get(server.url, "/api/v1/items/", **{"X-Big": "a" * 10_240})
    many_headers = get(server.url, "/health", **{f"X-H{n}": "1" for n in range(150)})
    bad_line = raw_exchange(server.url, b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
    bad_header = raw_exchange(server.url, b"GET / HTTP/1.1\r\nHost x\r\n\r\n")

    assert "4094 bytes" in assert_json_error(long_query, 414)
    assert "8190 bytes" in assert_json_error(big_header, 431)
    assert "100 headers" in assert_json_error(many_headers, 431)
    assert_json_error(bad_line, HTTPStatus.BAD_REQUEST)
    assert_json_error(bad_header, HTTPStatus.BAD_REQUEST)
    log = server.log.read_text()
    assert "Invalid request from ip=127.0.0.1" in log
    assert "Traceback" not in log


@pytest.mark.live
def test_a_bearer_over_the_header_limit_is_401_json_with_the_challenge(server):
    token = "eyJ" + "a" * 10_240

    response = get(server.url, "/api/v1/users/me", Authorization=f"Bearer {token}")

    detail = assert_json_error(response, HTTPStatus.UNAUTHORIZED)
    assert response.getheader("WWW-Authenticate") == "Bearer"
    assert detail == "Could not validate credentials"
    assert token[:100] not in server.log.read_text()


@pytest.mark.live
def test_gthread_says_close_exactly_when_it_closes(live_server_factory):
    server = live_server_factory(
        extra_env={"GUNICORN_WORKER_CLASS": "gthread"}, args=CONFIG, workers=1
    )
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=15)

    connection.request("POST", "/api/v1/items/", body=b'{"title": "x"}')
    small = connection.getresponse()
    small.read()
    first_socket = connection.sock
    # A client that announces a large body and waits for an early answer.
    connection.putrequest("POST", "/api/v1/items/")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(2 * LIMIT))
    connection.endheaders(b'{"title": "' + b"x" * 1000)
    second_socket = connection.sock
    too_large = connection.getresponse()
    too_large_body = too_large.read()
    connection.request("GET", "/health")  # the same client, its next request
    health = connection.getresponse()

    assert small.status == HTTPStatus.UNAUTHORIZED
    assert small.getheader("Connection") == "keep-alive"
    # A small request kept the connection: the next one was answered on it.
    assert second_socket is first_socket
    assert too_large.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_large_body
    assert too_large.getheader("Connection") == "close"  # so the client reconnects
    assert health.status == HTTPStatus.OK
    assert json.loads(health.read()) == {"status": "healthy"}
    connection.close()
