"""Request id, structlog context, the access line, X-Process-Time; the body limit."""

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
access_log = structlog.get_logger("access")
TOO_LARGE = "Request body too large"


def request_id_from(request: Request) -> str:
    """The client's X-Request-ID when it is a sane token, else a new UUID4."""
    incoming = request.headers.get("X-Request-ID", "")
    if SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return str(uuid.uuid4())


async def request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Bind the request id to every log line, time the request, log one access line."""
    request_id = request_id_from(request)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    start = time.perf_counter()
    try:
        response = await call_next(request)
    except Exception:  # anything unhandled: a JSON 500 that still has our headers
        access_log.exception("unhandled error")
        response = JSONResponse({"detail": "Internal Server Error"}, status_code=500)
    duration = time.perf_counter() - start
    response.headers["X-Request-ID"] = request_id
    response.headers["X-Process-Time"] = f"{duration:.6f}"
    route = request.scope.get("route")
    access_log.info(
        "request",
        method=request.method,
        path=request.url.path,
        route=getattr(route, "path", None),
        status=response.status_code,
        duration=round(duration, 6),
        user_id=getattr(request.state, "user_id", None),
    )
    return response


class BodyLimitMiddleware:
    """Refuse a request body over the limit with a JSON 413, chunked bodies too."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 at once for a Content-Length over the limit; else count bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_size:
            response = JSONResponse({"detail": TOO_LARGE}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_size:  # raised inside the body read: a 413
                raise HTTPException(status_code=413, detail=TOO_LARGE)
            return message

        await self.app(scope, limited_receive, send)
