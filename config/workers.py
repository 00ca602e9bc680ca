"""gunicorn workers whose own answers are JSON, like every other error of the API.

gunicorn answers some requests before the application sees them: a request line over
`limit_request_line` (414), a header over `limit_request_field_size` or more than
`limit_request_fields` headers (431), a request it cannot parse (400). Its
`Worker.handle_error` writes those as HTML; these workers write `{"detail": ...}` and
`Connection: close` instead. An Authorization header over the limit is a 401 with
`WWW-Authenticate: Bearer`, as any other unusable token is.

config/gunicorn.py selects them (GUNICORN_WORKER_CLASS=sync|gthread).
"""

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from http import HTTPStatus
from ssl import SSLError
from types import TracebackType
from typing import Any

import orjson
from gunicorn import util
from gunicorn.http import errors
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers import gthread, sync

CREDENTIALS_ERROR = "Could not validate credentials"  # as users/authentication.py
MAX_ECHO = 200  # characters of the client's input that a message may repeat
# gunicorn drains at most 64 KiB of a body the application left unread before it
# reuses a connection (gunicorn.http.parser._DRAIN_MAX_BYTES); over that it closes.
DRAIN_LIMIT = 32 * 1024

# What a client did wrong, and the status it gets; anything else is a 500.
CLIENT_ERRORS: dict[type[BaseException], HTTPStatus] = {
    errors.LimitRequestLine: HTTPStatus.REQUEST_URI_TOO_LONG,
    errors.LimitRequestHeaders: HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
    errors.ForbiddenProxyRequest: HTTPStatus.FORBIDDEN,
    SSLError: HTTPStatus.FORBIDDEN,
    errors.ExpectationFailed: HTTPStatus.EXPECTATION_FAILED,
    errors.UnsupportedTransferCoding: HTTPStatus.NOT_IMPLEMENTED,
    errors.ConfigurationProblem: HTTPStatus.INTERNAL_SERVER_ERROR,
    **{
        error: HTTPStatus.BAD_REQUEST
        for error in (
            errors.InvalidRequestLine,
            errors.InvalidRequestMethod,
            errors.InvalidHTTPVersion,
            errors.InvalidHeader,
            errors.InvalidHeaderName,
            errors.InvalidProxyLine,
            errors.InvalidSchemeHeaders,
            errors.ObsoleteFolding,
            errors.InvalidH2CPreface,
            errors.InvalidChunkSize,
            errors.ChunkMissingTerminator,
            errors.InvalidChunkExtension,
        )
    },
}
# Errors in the application's response, not in the client's request.
SERVER_ERRORS = (errors.InvalidResponseHeader, errors.InvalidResponseHeaderName)


def oversized_header(exc: BaseException) -> str | None:
    """Name the header line that went over the field size limit, if gunicorn knows.

    gunicorn's Python parser raises LimitRequestHeaders from `parse_headers` with
    the header's name (upper case) in its `name` variable; the message omits it.
    """
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "parse_headers":
            name = tb.tb_frame.f_locals.get("name")
            return name if isinstance(name, str) else None
        tb = tb.tb_next
    return None


def error_answer(
    exc: BaseException, cfg: Any
) -> tuple[HTTPStatus, str, dict[str, str]]:
    """Return the status, the `detail` and the extra headers for a refused request."""
    status = next(
        (code for error, code in CLIENT_ERRORS.items() if isinstance(exc, error)),
        HTTPStatus.INTERNAL_SERVER_ERROR,
    )
    if status == HTTPStatus.REQUEST_URI_TOO_LONG:
        return (
            status,
            (
                f"Request line too long: the limit is {cfg.limit_request_line} bytes "
                "for the method, path and query."
            ),
            {},
        )
    if status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
        if oversized_header(exc) == "AUTHORIZATION":
            return (
                HTTPStatus.UNAUTHORIZED,
                CREDENTIALS_ERROR,
                {"WWW-Authenticate": "Bearer"},
            )
        return (
            status,
            (
                "Request headers too large: at most "
                f"{cfg.limit_request_fields} headers of "
                f"{cfg.limit_request_field_size} bytes each."
            ),
            {},
        )
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        return status, "Internal server error.", {}
    return status, f"{status.phrase}: {str(exc)[:MAX_ECHO]}", {}


def write_json_error(
    sock: Any, status: HTTPStatus, detail: str, headers: dict[str, str]
) -> None:
    """Write a whole JSON error response; the connection closes after it."""
    body = orjson.dumps({"detail": detail})
    lines = [
        f"HTTP/1.1 {status.value} {status.phrase}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"X-Request-ID: {uuid.uuid4()}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    util.write_nonblock(sock, "\r\n".join([*lines, "", ""]).encode("latin-1") + body)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def close_after_unread_body(app: WSGIApp) -> WSGIApp:
    """Say `Connection: close` when gunicorn will close: a large body left unread.

    A 413, or a 401 on a large upload, leaves the body on the socket. gunicorn's
    gthread worker drains only a little of it before reusing the connection and
    closes otherwise, after it has announced keep-alive; a keep-alive client's next
    request then fails. Deciding at start_response, before the headers are sent,
    lets the response tell the truth.
    """

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            response = getattr(start_response, "__self__", None)
            if isinstance(response, Response) and _body_left(response, status):
                response.force_close()
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wrapped


def _body_left(response: Response, status: str) -> bool:
    """Say whether more of the request body is unread than gunicorn will drain."""
    if status.startswith("413"):
        return True
    reader = getattr(getattr(response.req, "body", None), "reader", None)
    return getattr(reader, "length", 0) > DRAIN_LIMIT


class JSONErrorsMixin:
    """Answer gunicorn's own refusals as JSON; close on a large unread body."""

    cfg: Any
    log: Any
    wsgi: WSGIApp

    def load_wsgi(self) -> None:
        """Load the application, wrapped so that it says when the socket closes."""
        # A mixin: the gunicorn worker class it is mixed into has load_wsgi.
        super().load_wsgi()  # type: ignore[misc]
        self.wsgi = close_after_unread_body(self.wsgi)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        """Log as gunicorn does (a warning for the client's fault), answer JSON."""
        addr = addr or ("", -1)  # a unix socket
        started = datetime.now()
        headers: dict[str, str]
        if isinstance(exc, SERVER_ERRORS):
            status, detail, headers = HTTPStatus.INTERNAL_SERVER_ERROR, "", {}
        else:
            status, detail, headers = error_answer(exc, self.cfg)
        if status == HTTPStatus.INTERNAL_SERVER_ERROR:
            detail = "Internal server error."
            self.log.exception(
                "Error handling request %s", getattr(req, "uri", "(no URI read)")
            )
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
        if req is not None and getattr(self.cfg, "accesslog", None):
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
            response = Response(req, client, self.cfg)
            response.status = f"{status.value} {status.phrase}"
            self.log.access(response, req, environ, datetime.now() - started)
        try:
            write_json_error(client, status, detail, headers)
        except Exception:
            self.log.debug("Failed to send error message.")


class SyncWorker(JSONErrorsMixin, sync.SyncWorker):
    """gunicorn's sync worker, with JSON errors."""


class ThreadWorker(JSONErrorsMixin, gthread.ThreadWorker):
    """gunicorn's gthread worker, with JSON errors and truthful keep-alive."""
