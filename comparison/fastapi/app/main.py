"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio
import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from slowapi.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.middleware.base import BaseHTTPMiddleware

from app.api import health
from app.api.v1 import api_router
from app.config import get_settings
from app.core.logging import configure_logging
from app.database import engine
from app.middleware import BodyLimitMiddleware, request_context
from app.rate_limit import RateLimitMiddleware, rate_limit_exceeded_handler

log = structlog.get_logger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the Redis client the readiness check uses; close pools on shutdown."""
    settings = get_settings()
    app.state.redis = redis.asyncio.from_url(
        settings.redis_url, socket_connect_timeout=1, socket_timeout=1
    )
    yield
    await app.state.redis.aclose()
    await engine.dispose()


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL unreachable: 503 with Retry-After; the pool reconnects by itself."""
    if isinstance(exc, DBAPIError) and not (
        exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    ):
        log.exception("database error")
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)
    log.warning("database unavailable", error=type(exc).__name__)
    return JSONResponse(
        {"detail": "The database is unavailable, try again shortly"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, without echoing each bad input back.

    The default handler returns every input, a too-short password included, and
    recurses into a deeply nested one until it fails with a 500.
    """
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


def create_app() -> FastAPI:
    """Build the application: settings, logging, middleware, handlers, routers."""
    settings = get_settings()
    configure_logging(level=settings.log_level, json_logs=settings.json_logs)
    # FastAPI's docs pages load Swagger UI and ReDoc from a CDN; fastapi-offline
    # serves the same files from the package (FastAPI's "self-hosting" recipe).
    app = FastAPIOffline(
        title=settings.project_name,
        version="1.0.0",
        openapi_url=f"{settings.api_v1_prefix}/openapi.json",
        docs_url=f"{settings.api_v1_prefix}/docs",
        redoc_url=f"{settings.api_v1_prefix}/redoc",
        swagger_ui_oauth2_redirect_url=f"{settings.api_v1_prefix}/docs/oauth2-redirect",
        static_url=f"{settings.api_v1_prefix}/docs-static",
        lifespan=lifespan,
        # Both spellings are routed (app.api.routing.SlashRouter): no redirects.
        redirect_slashes=False,
    )

    app.add_exception_handler(RateLimitExceeded, rate_limit_exceeded_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_failed)
    for error in (DBAPIError, OSError, TimeoutError):
        app.add_exception_handler(error, database_unavailable)

    # Added innermost first. GZip inside the request context: outside it, it would
    # see BaseHTTPMiddleware's streamed body and compress even the smallest answer.
    app.add_middleware(
        BodyLimitMiddleware, max_body_size=settings.max_request_body_bytes
    )
    if settings.rate_limits_enabled:
        app.add_middleware(RateLimitMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allowed_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            "X-Request-ID",
            "X-Process-Time",
            "X-Total-Count",
            "Link",
            "Retry-After",
        ],
    )
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(BaseHTTPMiddleware, dispatch=request_context)

    app.include_router(health.router)
    app.include_router(api_router, prefix=settings.api_v1_prefix)
    return app


app = create_app()
