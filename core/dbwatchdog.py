"""A stalled database answers 503 within seconds, not when gunicorn kills the worker.

libpq has no read timeout: on an open connection whose server stops answering (a
network partition, a frozen server, a stuck proxy) a query waits forever, and
statement_timeout cannot help because the server never hears it. TCP keepalives and
tcp_user_timeout (settings.py) end a partitioned connection after a few seconds only
where the peer's kernel stops acknowledging; a frozen process or proxy keeps
acknowledging. So each request arms a deadline; when it passes, one watchdog thread
per process shuts the request's database socket down, the waiting psycopg call fails
with OperationalError, and the request ends as the usual 503 JSON with Retry-After
(core/exceptions.py). Django drops the broken connection and the next request opens
a new one, so the service recovers by itself.

The rest of that request does not try to connect again (it would wait up to
connect_timeout on the same stalled server). A request that takes longer than
the deadline for another reason loses its database connection too (its next query
answers 503); the deadline (DATABASE_STALL_TIMEOUT,
4 s) is far above the slowest real request, and below gunicorn's 30 s timeout.
"""

import os
import socket
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

_lock = threading.Lock()
_deadlines: dict[int, tuple[float, object]] = {}  # thread id -> (deadline, wrapper)
_started_in: int | None = None  # pid whose watchdog thread runs (none after fork)
TICK_SECONDS = 0.1


def _shut_down(wrapper: object) -> None:
    """Shut the database socket of one DatabaseWrapper down, if it has one open."""
    conn = getattr(wrapper, "connection", None)
    try:
        # conn may be None: the AttributeError is caught below, as a closed one is.
        fd = conn.pgconn.socket  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - no psycopg connection, or already closed
        return
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


def _watch() -> None:
    """Shut down the database socket of every request past its deadline."""
    while True:
        time.sleep(TICK_SECONDS)
        now = time.monotonic()
        with _lock:
            late = [key for key, (deadline, _) in _deadlines.items() if deadline < now]
            wrappers = [_deadlines.pop(key)[1] for key in late]
            for wrapper in wrappers:
                # The rest of this request must not wait connect_timeout for a new
                # connection to the same stalled server: it fails at once instead.
                # Under the lock, so that the request's own clean-up comes after.
                # An instance attribute shadows the method until the end of the
                # request pops it (below); the wrapper is stored as a bare object.
                wrapper.get_new_connection = _refuse  # type: ignore[attr-defined]
        for wrapper in wrappers:
            _shut_down(wrapper)


def _refuse(*args: object, **kwargs: object) -> None:
    """Stand in for connecting, for the rest of a request whose database stalled."""
    import psycopg

    raise psycopg.OperationalError("database stalled")


def _ensure_thread() -> None:
    """Start this process's watchdog thread once (again after a fork)."""
    global _started_in  # noqa: PLW0603 - one watchdog per process
    pid = os.getpid()
    if _started_in == pid:
        return
    with _lock:
        if _started_in != pid:
            threading.Thread(target=_watch, name="db-watchdog", daemon=True).start()
            _started_in = pid


def database_watchdog_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Arm the stall deadline of the request's database connection."""
    timeout = float(getattr(settings, "DATABASE_STALL_TIMEOUT", 0) or 0)
    if timeout <= 0 or connections["default"].vendor != "postgresql":
        return get_response

    def middleware(request: HttpRequest) -> HttpResponse:
        _ensure_thread()
        key = threading.get_ident()
        wrapper = connections["default"]
        with _lock:
            _deadlines[key] = (time.monotonic() + timeout, wrapper)
        try:
            return get_response(request)
        finally:
            with _lock:
                _deadlines.pop(key, None)
                wrapper.__dict__.pop("get_new_connection", None)

    return middleware
