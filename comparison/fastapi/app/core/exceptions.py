"""The service's errors: HTTPExceptions, which FastAPI answers as `{"detail"}`."""

from fastapi import HTTPException, status

BEARER = {"WWW-Authenticate": "Bearer"}


class NotAuthenticated(HTTPException):
    """A missing, malformed, expired or revoked token, or its user gone or inactive."""

    def __init__(self, detail: str = "Could not validate credentials") -> None:
        super().__init__(status.HTTP_401_UNAUTHORIZED, detail, headers=BEARER)


class IncorrectCredentials(NotAuthenticated):
    """A wrong email or password at login."""

    def __init__(self) -> None:
        super().__init__("Incorrect email or password")


class InactiveUser(HTTPException):
    """A login with the right password of an inactive account."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_400_BAD_REQUEST, "Inactive user")


class NotAuthorized(HTTPException):
    """The caller may not do this."""

    def __init__(self, detail: str = "Not authorized") -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, detail)


class NotFound(HTTPException):
    """No such resource, or one the caller may not see."""

    def __init__(self, detail: str = "Not found") -> None:
        super().__init__(status.HTTP_404_NOT_FOUND, detail)


class EmailAlreadyRegistered(HTTPException):
    """Another account has this email, whatever its case."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_400_BAD_REQUEST, "Email already registered")


class InvalidRefreshToken(HTTPException):
    """A refresh token that is malformed, expired, revoked or not a refresh token."""

    def __init__(self, status_code: int = status.HTTP_401_UNAUTHORIZED) -> None:
        headers = BEARER if status_code == status.HTTP_401_UNAUTHORIZED else None
        super().__init__(
            status_code, "Token is invalid, expired or revoked", headers=headers
        )


class ServiceUnavailable(HTTPException):
    """A dependency (PostgreSQL, Redis) cannot be reached; try again shortly."""

    def __init__(self, detail: str = "Service temporarily unavailable") -> None:
        super().__init__(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail, headers={"Retry-After": "5"}
        )
