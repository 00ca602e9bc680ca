"""Password hashing (Argon2id) and JWTs (PyJWT) with `sub` and `type` claims."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.concurrency import run_in_threadpool

from app.config import get_settings

# Django's Argon2PasswordHasher parameters: a login costs the same on both sides.
password_hasher = PasswordHasher(
    time_cost=2, memory_cost=102400, parallelism=8, hash_len=32, salt_len=16
)
# Verified against when the email is unknown, so that both cases take as long.
_DUMMY_HASH = password_hasher.hash("not a real password")

TokenType = Literal["access", "refresh"]


async def hash_password(password: str) -> str:
    """Hash a password in a worker thread (Argon2 is CPU-bound, ~100 ms)."""
    return await run_in_threadpool(password_hasher.hash, password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return password_hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password: str, hashed: str | None) -> bool:
    """Check a password in a worker thread; a missing hash costs the same and fails."""
    if hashed is None:
        await run_in_threadpool(_verify, _DUMMY_HASH, password)
        return False
    return await run_in_threadpool(_verify, hashed, password)


def create_token(
    subject: int, token_type: TokenType, lifetime: timedelta
) -> tuple[str, str, datetime]:
    """Return a signed token, its jti and its expiry."""
    settings = get_settings()
    now = datetime.now(UTC)
    expires = now + lifetime
    jti = uuid.uuid4().hex
    claims = {
        "sub": str(subject),
        "type": token_type,
        "iat": now,
        "exp": expires,
        "jti": jti,
    }
    token = jwt.encode(
        claims, settings.jwt_signing_key, algorithm=settings.jwt_algorithm
    )
    return token, jti, expires


def decode_token(token: str, token_type: TokenType) -> dict[str, Any]:
    """Return a valid token's claims, or raise jwt.InvalidTokenError."""
    settings = get_settings()
    claims = jwt.decode(
        token,
        settings.jwt_signing_key,
        algorithms=[settings.jwt_algorithm],
        options={"require": ["exp", "sub", "type", "jti"]},
    )
    if claims.get("type") != token_type:
        raise jwt.InvalidTokenError(f"not an {token_type} token")
    if not str(claims["sub"]).isdigit():
        raise jwt.InvalidTokenError("bad subject")
    return claims
