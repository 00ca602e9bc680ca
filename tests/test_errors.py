"""Errors: JSON with "detail" always, never a 500 for bad input, 503 without a DB."""

import contextlib
import socket
import threading
import time
from http import HTTPStatus

import orjson
import pytest
import urllib3
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from items.models import Item
from items.views import ItemViewSet
from tests.factories import ItemFactory, UserFactory
from tests.support.live_server import database_url
from tests.support.servers import free_port
from users.models import User
from users.services import token_pair_issue

ERROR_PATHS = [
    ("get", "/api/v1/nope", HTTPStatus.NOT_FOUND),
    ("get", "/api/v2/items/", HTTPStatus.NOT_FOUND),
    ("get", "/api/v1/items/1/extra", HTTPStatus.NOT_FOUND),
    ("get", "/nope", HTTPStatus.NOT_FOUND),
    ("get", "/health/nope", HTTPStatus.NOT_FOUND),
    ("delete", "/api/v1/items/", HTTPStatus.METHOD_NOT_ALLOWED),
    ("put", "/api/v1/users/", HTTPStatus.METHOD_NOT_ALLOWED),
    ("post", "/health", HTTPStatus.METHOD_NOT_ALLOWED),
    ("post", "/health/ready", HTTPStatus.METHOD_NOT_ALLOWED),
    ("post", "/api/v1/openapi.json", HTTPStatus.METHOD_NOT_ALLOWED),
]


def assert_json_error(response, status: int) -> dict:
    """Check an error answer: the status, a JSON body, a "detail" key; return it."""
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = orjson.loads(response.content)
    assert "detail" in body
    return body


def item_client(user: User, **headers: str) -> Client:
    """A plain Django client with a bearer token, which can send any raw body."""
    token = token_pair_issue(user=user)["access_token"]
    return Client(headers={"Authorization": f"Bearer {token}", **headers})


# Bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{bad json", "application/json", HTTPStatus.BAD_REQUEST),
        (b'{"title": "x"', "application/json", HTTPStatus.BAD_REQUEST),
        (b"\xff\xfe\x00", "application/json", HTTPStatus.BAD_REQUEST),
        (b'{"title": "\\ud800"}', "application/json", HTTPStatus.BAD_REQUEST),
        (b'{"title": "a\\u0000b"}', "application/json", HTTPStatus.BAD_REQUEST),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", HTTPStatus.BAD_REQUEST),
        (b'{"title": ' + b"[" * 1000 + b"]" * 1000 + b"}", "application/json", 400),
        (b'{"title": ' + b'{"a":' * 2000 + b"1" + b"}" * 2001, "application/json", 400),
        (b'{"title": 1e999}', "application/json", HTTPStatus.BAD_REQUEST),
        (b'{"title": 123456789012345678901234567890}', "application/json", 400),
        (b"[]", "application/json", HTTPStatus.BAD_REQUEST),
        (b'"a string"', "application/json", HTTPStatus.BAD_REQUEST),
        (b"42", "application/json", HTTPStatus.BAD_REQUEST),
        (b"null", "application/json", HTTPStatus.BAD_REQUEST),
        (b"", "application/json", HTTPStatus.BAD_REQUEST),
        (b'{"title": "x"}', "text/plain", HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        (b"title=x", "application/x-www-form-urlencoded", 415),
        (b"--b\r\n", "multipart/form-data; boundary=b", 415),
        (b"<title>x</title>", "application/xml", HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
    ],
)  # fmt: skip
def test_bad_item_bodies_are_4xx_json_and_write_nothing(
    user, body, content_type, status
):
    client = item_client(user)

    response = client.generic("POST", "/api/v1/items/", body, content_type)

    assert_json_error(response, status)
    assert Item.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "Invalid data. Expected a dictionary, but got list."),
        ("text", "Invalid data. Expected a dictionary, but got str."),
    ],
)
def test_a_body_that_is_not_an_object_gets_a_plain_detail_message(
    user_client, body, message
):
    response = user_client.post("/api/v1/items/", body, format="json")

    assert response.json() == {"detail": message}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"{bad json",
        b"[" * 100_000 + b"]" * 100_000,
        b'["email", "password"]',
        b'{"email": "a\\u0000@example.com", "password": "long enough"}',
    ],
)
def test_bad_registration_bodies_are_400_json_and_write_nothing(body):
    response = Client().generic("POST", "/api/v1/users/", body, "application/json")

    assert_json_error(response, HTTPStatus.BAD_REQUEST)
    assert User.objects.count() == 0


def test_bad_patch_bodies_change_nothing(user):
    item = ItemFactory.create(owner=user, title="Kept")
    client = item_client(user)

    for body in (b"{bad", b"[1]", b'{"title": 5}', b"[" * 5000 + b"]" * 5000):
        response = client.generic(
            "PATCH", f"/api/v1/items/{item.pk}", body, "application/json"
        )
        assert_json_error(response, HTTPStatus.BAD_REQUEST)
    item.refresh_from_db()
    assert item.title == "Kept"


@pytest.mark.django_db
def test_a_refused_registration_logs_no_password_and_no_traceback(api_client, logs):
    password = "Sup3r-secret-passw0rd"

    api_client.post(
        "/api/v1/users/", {"email": "bad", "password": password}, format="json"
    )
    api_client.post(
        "/api/v1/users/", {"email": "a@b.co", "password": password[:5]}, format="json"
    )

    statuses = [
        line.get("status") for line in logs.lines() if line["event"] == "request"
    ]
    assert statuses == [400, 400]
    assert password[:5] not in logs.text
    assert "Traceback" not in logs.text


def test_error_messages_do_not_echo_huge_input(user_client):
    response = user_client.post(
        "/api/v1/items/", {"title": "Z" * 100_000}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert len(response.content) < 1000


# Paths and methods ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "status"), ERROR_PATHS)
@pytest.mark.parametrize("debug", [False, True])
def test_unknown_paths_and_wrong_methods_are_json_in_every_mode(
    settings, method, path, status, debug
):
    settings.DEBUG = debug

    response = getattr(Client(), method)(path)

    assert_json_error(response, status)
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        assert response["Allow"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/items/", {"GET", "POST"}),
        ("put", "/api/v1/users/", {"GET", "POST"}),
        ("post", "/api/v1/users/me", {"GET"}),
        ("patch", "/api/v1/users/me", {"GET"}),
    ],
)
def test_wrong_method_is_405_with_allow_even_without_a_token(
    api_client, method, path, allowed
):
    response = getattr(api_client, method)(path, {}, format="json")

    assert_json_error(response, HTTPStatus.METHOD_NOT_ALLOWED)
    assert allowed <= set(response["Allow"].split(", "))


def test_wrong_method_on_an_item_is_405_with_allow(user_client, user):
    item = ItemFactory.create(owner=user)

    response = user_client.post(f"/api/v1/items/{item.pk}", {}, format="json")

    assert_json_error(response, HTTPStatus.METHOD_NOT_ALLOWED)
    assert "POST" not in response["Allow"]


def test_unacceptable_accept_header_is_json_406(user_client):
    response = user_client.get("/api/v1/items/", HTTP_ACCEPT="text/html")

    assert_json_error(response, HTTPStatus.NOT_ACCEPTABLE)


@pytest.mark.django_db
def test_401_has_detail_and_bearer_challenge(api_client):
    response = api_client.get("/api/v1/items/", HTTP_AUTHORIZATION="Bearer x.y.z")

    assert_json_error(response, HTTPStatus.UNAUTHORIZED)
    assert response["WWW-Authenticate"] == "Bearer"


# Unexpected failures --------------------------------------------------------------


@pytest.mark.parametrize("gzip", [False, True])
@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_error_is_500_json_without_details(
    settings, monkeypatch, user, debug, gzip
):
    settings.DEBUG = debug

    def explode(*args, **kwargs):
        raise RuntimeError(f"boom {django_settings.SECRET_KEY}")

    monkeypatch.setattr(ItemViewSet, "list", explode)
    client = item_client(user, **({"Accept-Encoding": "gzip"} if gzip else {}))
    client.raise_request_exception = False

    response = client.get("/api/v1/items/")

    # The debug page is large enough to be gzipped; the JSON that replaces it is not.
    assert "Content-Encoding" not in response
    body = assert_json_error(response, HTTPStatus.INTERNAL_SERVER_ERROR)
    assert body == {"detail": "Internal server error."}
    assert django_settings.SECRET_KEY not in response.content.decode()
    assert b"Traceback" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_refused_host_header_is_400_json(settings, debug):
    settings.DEBUG = debug
    settings.ALLOWED_HOSTS = ["api.example.com"]

    response = Client().get("/api/v1/items/", HTTP_HOST="evil.example.net")

    assert_json_error(response, HTTPStatus.BAD_REQUEST)


# The database down ------------------------------------------------------------------

CLOSED_DATABASE = "postgres://postgres@127.0.0.1:1/x"


def call(server, method: str, path: str, *, token: str | None = None, body=None):
    """Send one request to a live server; return (status, headers, body bytes)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = urllib3.request(
        method,
        f"{server.url}{path}",
        body=None if body is None else orjson.dumps(body),
        headers=headers,
        timeout=15,
        retries=False,
    )
    return response.status, response.headers, response.data


@pytest.mark.live
@pytest.mark.parametrize("debug", ["false", "true"])
def test_database_down_is_503_json_with_retry_after(live_server_factory, debug):
    token = token_pair_issue(user=UserFactory.create())["access_token"]
    server = live_server_factory(
        extra_env={"DATABASE_URL": CLOSED_DATABASE, "DJANGO_DEBUG": debug}
    )
    requests = [
        ("GET", "/api/v1/items/", token, None),
        ("POST", "/api/v1/items/", token, {"title": "x"}),
        ("GET", "/api/v1/users/me", token, None),
        ("POST", "/api/v1/users/", None, {"email": "a@b.co", "password": "x" * 8}),
    ]  # fmt: skip

    for method, path, auth, body in requests:
        status, headers, content = call(server, method, path, token=auth, body=body)
        assert status == HTTPStatus.SERVICE_UNAVAILABLE, (method, path, content)
        assert headers["Content-Type"].startswith("application/json")
        assert int(headers["Retry-After"]) > 0
        assert set(orjson.loads(content)) == {"detail"}
        assert b"127.0.0.1:1" not in content
        assert b"postgres" not in content.lower()
    assert call(server, "GET", "/health")[0] == HTTPStatus.OK
    assert call(server, "GET", "/api/v1/items/")[0] == HTTPStatus.UNAUTHORIZED
    log = server.log.read_text()
    assert "database unreachable" in log
    assert "Traceback" not in log
    assert "x" * 8 not in log  # the password sent


class TcpProxy:
    """Forward a local port to the database; cut and restore it like an outage."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        """Listen (again) on the same port."""
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.1)
        threading.Thread(
            target=self._accept, args=(self.listener,), daemon=True
        ).start()

    def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        listener, self.listener = self.listener, None
        if listener:
            listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(source, sink), daemon=True
                ).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass


@pytest.mark.live
def test_api_recovers_by_itself_when_the_database_is_back(live_server_factory):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no server to lose")
    params = connection.settings_dict
    proxy = TcpProxy((params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432)))
    proxy.start()
    url = database_url().replace(f":{params['PORT'] or 5432}/", f":{proxy.port}/")
    token = token_pair_issue(user=UserFactory.create())["access_token"]
    server = live_server_factory(extra_env={"DATABASE_URL": url}, workers=1)
    try:
        assert call(server, "GET", "/api/v1/users/me", token=token)[0] == 200

        proxy.stop()
        down = [call(server, "GET", "/api/v1/users/me", token=token) for _ in range(2)]
        proxy.start()
        statuses = []
        for _ in range(20):  # give the worker a few requests to reconnect
            statuses.append(call(server, "GET", "/api/v1/users/me", token=token)[0])
            if statuses[-1] == HTTPStatus.OK:
                break
            time.sleep(0.25)
    finally:
        proxy.stop()

    assert [status for status, _, _ in down] == [503, 503]
    assert statuses[-1] == HTTPStatus.OK
