"""Multi-step writes of accounts and tokens: registration, updates, login, rotation."""

import enum
import logging
import secrets
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from jwt import decode as jwt_decode
from jwt.exceptions import InvalidTokenError
from rest_framework.exceptions import APIException, ValidationError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)
from rest_framework_simplejwt.tokens import RefreshToken, Token

from core.fields import id_from_text, save_update_fields
from users.authentication import TOKEN_PARSE_ERRORS, token_user_id
from users.exceptions import (
    EmailAlreadyRegistered,
    InactiveUser,
    IncorrectCredentials,
    InvalidRefreshToken,
    InvalidRefreshTokenBody,
    InvalidResetToken,
    NotAuthorized,
    OwnAccountLockout,
)
from users.models import User
from users.tokens import (
    SessionRefreshToken,
    issued_before,
    new_session_id,
    session_of,
    session_revoke,
)

logger = logging.getLogger(__name__)

_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """Return a hash to check for unknown emails, so they cost as much as known ones.

    Made once per process with the preferred hasher (the one users' hashes are
    made and upgraded with), so its cost matches theirs.
    """
    algorithm = str(get_hasher().algorithm)
    if algorithm not in _DUMMY_HASHES:
        _DUMMY_HASHES[algorithm] = make_password(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[algorithm]


def user_create(*, email: str, password: str, full_name: str | None = None) -> User:
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


def user_update(*, user: User, data: dict[str, Any], by: User) -> User:
    """Apply validated changes for `by`; a new password is hashed, a new email checked.

    `is_active`, `is_superuser` and `password` go through the services that hold
    their rules. A refused change leaves the account as it was: the refusals come
    before their service's write, and several writes share one transaction.
    """
    if not data:  # PATCH {}: nothing to write, updated_at included
        return user
    if "email" in data:
        data["email"] = User.objects.normalize_email(data["email"])
        if User.objects.email_taken(data["email"], exclude_pk=user.pk):
            raise EmailAlreadyRegistered()
    superuser = data.pop("is_superuser", None)
    active = data.pop("is_active", None)
    password = data.pop("password", None)
    writes = bool(data) + sum(v is not None for v in (superuser, active, password))
    # One write needs no transaction of its own: the common PATCH costs no savepoint.
    with transaction.atomic() if writes > 1 else nullcontext():
        if superuser is not None:
            user_set_superuser(user=user, superuser=superuser, by=by)
        if active is not None:
            user_set_active(user=user, active=active, by=by)
        if data:
            for field, value in data.items():
                setattr(user, field, value)
            # Only the changed columns: a concurrent change to another field (an
            # admin deactivating the account, say) is not overwritten with stale values.
            try:
                with transaction.atomic():
                    save_update_fields(user, [*data, "updated_at"])
            except IntegrityError:
                raise EmailAlreadyRegistered() from None
        if password is not None:
            user_password_set(user=user, password=password)
    return user


# ACCOUNT STATUS: THE API'S PATCH AND THE ADMIN'S FORM AND ACTIONS CALL THESE
# ------------------------------------------------------------------------------


def user_set_active(*, user: User, active: bool, by: User) -> None:
    """Let a user log in, or not; a deactivation ends every session for good.

    Deactivating revokes every refresh token and cuts off every access token (also
    when the account was inactive already), so reactivating it later revives none.
    Nobody deactivates themself (`by` is who asks): it is a 400 naming `is_active`.
    """
    if not active and user.pk == by.pk:
        raise OwnAccountLockout(
            field="is_active", message="You cannot deactivate your own account."
        )
    with transaction.atomic():
        if user.is_active != active:
            user.is_active = active
            save_update_fields(user, ["is_active", "updated_at"])
        if not active:
            user_revoke_tokens(user=user)


def user_set_superuser(*, user: User, superuser: bool, by: User) -> None:
    """Grant or remove superuser status; nobody removes their own (a 400)."""
    if not superuser and user.pk == by.pk:
        raise OwnAccountLockout(
            field="is_superuser",
            message="You cannot remove your own superuser status.",
        )
    if user.is_superuser != superuser:
        user.is_superuser = superuser
        save_update_fields(user, ["is_superuser", "updated_at"])


def user_password_set(*, user: User, password: str | None) -> None:
    """Store a new password (None: no usable one) and end every session of the user.

    The one way a password changes after registration: the API's PATCH, change and
    reset, and the admin's "set password" form. The caller's own sessions end too.
    """
    user.set_password(password)
    with transaction.atomic():
        save_update_fields(user, ["password", "updated_at"])
        user_revoke_tokens(user=user)


def user_authenticate(*, email: str, password: str) -> User:
    """Return the user these credentials name, or raise the one credentials error.

    An unknown email costs one hash verification too (of a dummy hash), so that the
    answer takes about as long as for a known email with a wrong password. The
    inactive check comes after the password: it reveals nothing to a guesser.
    """
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


def token_pair_issue(*, user: User, sid: str | None = None) -> dict[str, Any]:
    """Issue an access and a refresh token of a session (the refresh is recorded).

    Both carry `token_type`, `jti`, `iat`, `exp`, `sub` and `sid`: a login starts a
    session (`sid` None), a refresh continues one. `expires_in` is the access
    token's configured lifetime (ACCESS_TOKEN_MINUTES), in seconds.
    """
    refresh = SessionRefreshToken.for_session(user=user, sid=sid or new_session_id())
    access = refresh.access_token
    return {
        "access_token": str(access),
        "refresh_token": str(refresh),
        "token_type": "bearer",
        "expires_in": int(access.lifetime.total_seconds()),
    }


class _RefreshClaims(Token):
    """A refresh token's checked claims: signature, expiry, type and `jti`.

    Unlike simplejwt's RefreshToken it does not look the token up in the blacklist:
    `_blacklist` below is the one atomic check, so parsing costs no query.
    """

    token_type = RefreshToken.token_type
    lifetime = RefreshToken.lifetime


def _parse_refresh(raw: str, *, error: type[APIException]) -> _RefreshClaims:
    """Return a refresh token's claims, or raise `error` for any bad token."""
    try:
        # simplejwt annotates the encoded token as `Token | None`; it takes a str.
        return _RefreshClaims(raw)  # type: ignore[arg-type]
    except TOKEN_PARSE_ERRORS:
        raise error() from None


def _lock_user(user_id: int | None) -> User | None:
    """Lock and return a user's row, serialising the writes of their tokens."""
    if user_id is None:
        return None
    return User.objects.select_for_update().filter(pk=user_id).first()


class Revocation(enum.Enum):
    """What revoking one refresh token found."""

    DONE = "revoked now"
    ALREADY = "revoked before"  # used, logged out or ended with its session
    UNKNOWN = "never issued"  # or cleaned up after expiry


def _blacklist(claims: Token) -> Revocation:
    """Revoke a refresh token, and say whether it was ours and still valid.

    The one-to-one row of the blacklist is the lock: of two concurrent revocations
    of one token, the database lets exactly one insert it.
    """
    jti = claims[api_settings.JTI_CLAIM]
    outstanding = OutstandingToken.objects.filter(jti=jti).first()
    if outstanding is None:
        return Revocation.UNKNOWN
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:  # the one-to-one row exists: someone revoked it first
        return Revocation.ALREADY
    return Revocation.DONE


def _stored_session(token: str) -> str | None:
    """Return the session id of a refresh token this server recorded (and signed)."""
    try:
        return session_of(jwt_decode(token, options={"verify_signature": False}))
    except InvalidTokenError:
        return None


def _session_end(*, user: User, sid: str | None) -> None:
    """Revoke every refresh token of one session, and its access tokens.

    Run with the user's row locked. A user holds few valid refresh tokens (one a
    session), so finding the session's among them reads them all. Tokens issued
    before sessions existed (no `sid`) count as one session.
    """
    outstanding = OutstandingToken.objects.filter(
        user=user, blacklistedtoken__isnull=True, expires_at__gt=timezone.now()
    ).only("id", "token")
    BlacklistedToken.objects.bulk_create(
        [
            BlacklistedToken(token=token)
            for token in outstanding
            if _stored_session(token.token) == sid
        ],
        ignore_conflicts=True,
    )
    if sid is not None:
        # Now, not on commit: a revocation that outlives a rolled-back request only
        # ends a session early, and a test's transaction never commits.
        session_revoke(sid)


def token_refresh(*, refresh_token: str) -> dict[str, Any]:
    """Rotate a refresh token: revoke it and issue a new pair, once only.

    A malformed, expired, revoked or non-refresh token, or one whose user is gone,
    inactive or cut off after it was issued, is a 401. Of concurrent refreshes of
    one token exactly one wins. A rotated token presented again is a theft signal
    (RFC 9700, 4.14.2: either its thief or its owner has the successor), so it
    ends the whole session: the successors and their access tokens are revoked.
    """
    claims = _parse_refresh(refresh_token, error=InvalidRefreshToken)
    sid = session_of(claims)
    with transaction.atomic():
        user = _lock_user(token_user_id(claims))
        if (
            user is None
            or not user.is_active
            or issued_before(claims, user.tokens_valid_after)
        ):
            raise InvalidRefreshToken()
        revocation = _blacklist(claims)
        if revocation is Revocation.DONE:
            return token_pair_issue(user=user, sid=sid)
        if revocation is Revocation.ALREADY:
            _session_end(user=user, sid=sid)
            # The user and the token's id, never the token: it names the session.
            logger.warning(
                "revoked refresh token presented again (jti %s): "
                "session of user %s ended",
                claims[api_settings.JTI_CLAIM],
                user.pk,
            )
    raise InvalidRefreshToken()


def token_revoke(*, refresh_token: str, user: User) -> None:
    """Log out: revoke the refresh token's whole session, access tokens included.

    Revoking a token twice is harmless (204 both times): the client's goal, a dead
    session, is reached; a rotated token ends its successors too. A token that is
    malformed, expired or not a refresh token is a 400 (not a 401, which would say
    the caller's bearer token is bad); another user's token is a 403 and stays valid.
    """
    claims = _parse_refresh(refresh_token, error=InvalidRefreshTokenBody)
    if token_user_id(claims) != user.pk:
        raise NotAuthorized("This refresh token belongs to another user")
    if _blacklist(claims) is Revocation.UNKNOWN:
        return  # not one this server issued: there is no session to end
    with transaction.atomic():
        _lock_user(user.pk)
        _session_end(user=user, sid=session_of(claims))


def user_revoke_tokens(*, user: User) -> None:
    """End every session of a user: refresh tokens revoked, access tokens cut off.

    The user's `tokens_valid_after` becomes now, so every access token issued so
    far is refused. The user's row is locked as in `token_refresh`, so that a
    refresh racing this call cannot issue a token that escapes the revocation.
    """
    with transaction.atomic():
        _lock_user(user.pk)
        user.tokens_valid_after = timezone.now()
        User.objects.filter(pk=user.pk).update(
            tokens_valid_after=user.tokens_valid_after
        )
        outstanding = OutstandingToken.objects.filter(
            user=user, blacklistedtoken__isnull=True
        )
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in outstanding],
            ignore_conflicts=True,
        )


# PASSWORD CHANGE, RECOVERY AND RESET
# ------------------------------------------------------------------------------


def _validate_new_password(password: str, user: User) -> None:
    """Run Django's password validators; a weak password is a 400 on new_password."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from None


def user_password_change(
    *, user: User, current_password: str, new_password: str
) -> None:
    """Change a password after checking the current one; revoke every refresh token."""
    if not user.check_password(current_password):
        raise ValidationError({"current_password": ["Incorrect password."]})
    _validate_new_password(new_password, user)
    user_password_set(user=user, password=new_password)


def password_reset_link(*, user: User) -> str:
    """Return a single-use link that resets the user's password, until it expires."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    query = urlencode({"uid": uid, "token": token})
    return f"{settings.FRONTEND_URL.rstrip('/')}/reset-password?{query}"


def user_password_reset_email_send(*, email: str) -> bool:
    """Email a reset link to the active account with this email; False if none."""
    user = User.objects.with_email(email).filter(is_active=True).first()
    if user is None:
        return False
    seconds = settings.PASSWORD_RESET_TIMEOUT
    lifetime = (
        f"{seconds // 3600} hours" if seconds >= 7200 else f"{seconds // 60} minutes"
    )
    send_mail(
        subject="Reset your password",
        message=(
            f"Someone asked to reset the password of {user.email}.\n\n"
            f"To choose a new password, open this link within {lifetime} "
            f"(it works once):\n\n{password_reset_link(user=user)}\n\n"
            "If it was not you, ignore this email: your password stays the same.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
    return True


def _decode_uid(uid: str) -> int | None:
    """Return the user id a reset link names, or None for anything malformed."""
    try:
        raw = urlsafe_base64_decode(uid).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return id_from_text(raw)


def user_password_reset(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link, once; revoke every refresh token."""
    user_id = _decode_uid(uid)
    with transaction.atomic():
        # The row lock makes two concurrent uses of one link succeed once: the second
        # sees the new password hash, which invalidates the token.
        user = (
            None
            if user_id is None
            else User.objects.select_for_update()
            .filter(pk=user_id, is_active=True)
            .first()
        )
        if user is None or not default_token_generator.check_token(user, token):
            raise InvalidResetToken()
        _validate_new_password(new_password, user)
        user_password_set(user=user, password=new_password)
    return user


def token_flush_expired() -> int:
    """Delete refresh-token records past their expiry (and their revocations)."""
    expired = OutstandingToken.objects.filter(expires_at__lte=timezone.now())
    _, deleted = expired.delete()
    return deleted.get(OutstandingToken._meta.label, 0)
