"""Multi-step writes of accounts and tokens: registration, updates, login, rotation."""

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)
from rest_framework_simplejwt.tokens import RefreshToken

from config.fields import save_changed
from users.authentication import token_user_id
from users.exceptions import (
    EmailAlreadyRegistered,
    InactiveUser,
    IncorrectCredentials,
    InvalidRefreshToken,
)
from users.models import User

_DUMMY_PASSWORD_HASH: str | None = None


def _dummy_hash() -> str:
    """Return a hash to check for unknown emails, so they cost as much as known ones."""
    global _DUMMY_PASSWORD_HASH  # noqa: PLW0603 - computed once per process, lazily
    if _DUMMY_PASSWORD_HASH is None:
        _DUMMY_PASSWORD_HASH = make_password("not the password of anyone")
    return _DUMMY_PASSWORD_HASH


def user_create(*, email: str, password: str, full_name: str = "") -> User:
    """Register an account; a taken email (in any case) is a 400, even under a race."""
    email = User.objects.normalize_email(email)
    if User.objects.email_taken(email):
        raise EmailAlreadyRegistered()
    user = User(email=email, full_name=full_name)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent registration won the race
        raise EmailAlreadyRegistered() from None
    return user


def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Apply validated changes; a new password is hashed, a new email checked."""
    if "email" in data:
        data["email"] = User.objects.normalize_email(data["email"])
        if User.objects.email_taken(data["email"], exclude_pk=user.pk):
            raise EmailAlreadyRegistered()
    password = data.pop("password", None)
    for field, value in data.items():
        setattr(user, field, value)
    if password is not None:
        user.set_password(password)
    # Only the changed columns: a concurrent change to another field (an admin
    # deactivating the account, say) is not overwritten with stale values.
    changed = [*data, *(["password"] if password is not None else []), "updated_at"]
    try:
        with transaction.atomic():
            save_changed(user, changed)
    except IntegrityError:
        raise EmailAlreadyRegistered() from None
    if password is not None:
        user_revoke_tokens(user=user)
    return user


def user_authenticate(*, email: str, password: str) -> User:
    """Return the user these credentials name, or raise the one credentials error."""
    try:
        user = User.objects.get_by_email(email)
    except User.DoesNotExist:
        check_password(password, _dummy_hash())
        raise IncorrectCredentials() from None
    if not user.check_password(password):
        raise IncorrectCredentials()
    if not user.is_active:
        raise InactiveUser()
    return user


def token_pair_issue(*, user: User) -> dict[str, Any]:
    """Issue an access and a refresh token (the refresh token is recorded)."""
    refresh = RefreshToken.for_user(user)
    return {
        "access_token": str(refresh.access_token),
        "refresh_token": str(refresh),
        "token_type": "bearer",
        "expires_in": int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    }


def _parse_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError:
        raise InvalidRefreshToken() from None


def _blacklist(token: RefreshToken) -> bool:
    """Revoke a refresh token; False when it was revoked already (even just now)."""
    outstanding = OutstandingToken.objects.filter(jti=token["jti"]).first()
    if outstanding is None:
        return False  # not one this server issued, or cleaned up after expiry
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:  # the one-to-one row exists: someone revoked it first
        return False
    return True


def token_refresh(*, refresh_token: str) -> dict[str, Any]:
    """Rotate a refresh token: revoke it and issue a new pair, once only."""
    token = _parse_refresh(refresh_token)
    user_id = token_user_id(token)
    user = (
        None
        if user_id is None
        else User.objects.filter(pk=user_id, is_active=True).first()
    )
    if user is None or not _blacklist(token):
        raise InvalidRefreshToken()
    return token_pair_issue(user=user)


def token_revoke(*, refresh_token: str, user: User) -> None:
    """Revoke one of the caller's refresh tokens; revoking it twice is harmless."""
    token = _parse_refresh(refresh_token)
    if token_user_id(token) != user.pk:
        raise InvalidRefreshToken()
    _blacklist(token)


def user_revoke_tokens(*, user: User) -> None:
    """Revoke every refresh token of a user that is not revoked already."""
    outstanding = OutstandingToken.objects.filter(
        user=user, blacklistedtoken__isnull=True
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
