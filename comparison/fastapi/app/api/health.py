"""Liveness and readiness, outside the API prefix and without auth."""

import asyncio
from typing import Literal

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.api.routing import SlashRouter
from app.database import engine

router = SlashRouter(tags=["health"])
log = structlog.get_logger(__name__)
CHECK_TIMEOUT = 2.0


class Health(BaseModel):
    """The liveness answer."""

    status: Literal["healthy"] = "healthy"


class Readiness(BaseModel):
    """The readiness answer: each check is "ok" or an error string."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, str]


@router.get("/health", response_model=Health, summary="Liveness")
async def live() -> Health:
    """Answer at once: touches neither the database nor the cache."""
    return Health()


async def _check(name: str, probe: asyncio.Future[object] | object) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - any failure makes the check fail
        log.warning("readiness check failed", check=name, error=type(exc).__name__)
        return f"error: {type(exc).__name__}"
    return "ok"


async def _database() -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


@router.get(
    "/health/ready",
    response_model=Readiness,
    summary="Readiness",
    responses={503: {"model": Readiness, "description": "A dependency is down"}},
)
async def ready(request: Request) -> JSONResponse:
    """Check PostgreSQL and Redis; 503 with Retry-After when one fails."""
    database, cache = await asyncio.gather(
        _check("database", _database()), _check("cache", request.app.state.redis.ping())
    )
    checks = {"database": database, "cache": cache}
    if database == cache == "ok":
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse(
        {"status": "unavailable", "checks": checks},
        status_code=503,
        headers={"Retry-After": "5"},
    )
