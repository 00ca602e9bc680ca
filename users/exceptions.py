"""Errors of the users and auth endpoints, with the contract's texts."""

from rest_framework import exceptions

from core.errors import BadRequest


class EmailAlreadyRegistered(BadRequest):
    """Another account already uses this email, in any case."""

    default_detail = "Email already registered"
    default_code = "email_taken"


class IncorrectCredentials(exceptions.AuthenticationFailed):
    """Wrong email or password: the same answer whether or not the email exists."""

    default_detail = "Incorrect email or password"
    default_code = "incorrect_credentials"


class InactiveUser(BadRequest):
    """The password was right, but the account is deactivated."""

    default_detail = "Inactive user"
    default_code = "inactive_user"


class InvalidRefreshToken(exceptions.AuthenticationFailed):
    """A refresh token that is malformed, expired, revoked or not a refresh token."""

    default_detail = "Invalid or expired refresh token"
    default_code = "invalid_refresh_token"


class NotAuthorized(exceptions.PermissionDenied):
    """The caller may not act on this resource."""

    default_detail = "Not authorized"
    default_code = "not_authorized"


class InvalidRefreshTokenBody(BadRequest):
    """A refresh token in a body (logout) that is malformed, expired or not one."""

    default_detail = "Invalid or expired refresh token"
    default_code = "invalid_refresh_token"


class InvalidResetToken(BadRequest):
    """A password-reset link that is malformed, used, expired or not for this user."""

    default_detail = "Invalid or expired password reset token"
    default_code = "invalid_reset_token"


class OwnAccountLockout(exceptions.ValidationError):
    """A superuser deactivating or demoting themself: the field that would do it.

    Refused in the API and the admin alike: it would lock them out mid-task, and
    leave the service without a superuser if they were the last one.
    """

    default_code = "own_account"

    def __init__(self, *, field: str, message: str) -> None:
        super().__init__({field: [message]}, code=self.default_code)
        self.message = message
