"""The users and auth endpoints."""

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from core.json import JSONRequestMixin, ORJSONParser
from core.throttling import (
    LoginUsernameThrottle,
    PasswordRecoveryEmailThrottle,
    ScopedWindowThrottle,
)
from core.viewsets import GenericViewSet
from users import services, tasks
from users.authentication import WWW_AUTHENTICATE
from users.exceptions import NotAuthorized
from users.models import User
from users.permissions import IsSelfOrSuperuser, IsSuperuser
from users.serializers import (
    DetailSerializer,
    LoginSerializer,
    PasswordChangeSerializer,
    PasswordRecoverySerializer,
    PasswordResetSerializer,
    RefreshTokenSerializer,
    TokenSerializer,
    UserAdminUpdateSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List users (superuser)"),
    create=extend_schema(
        summary="Register a user",
        auth=[],
        request=UserCreateSerializer,
        responses={201: UserSerializer},
    ),
    retrieve=extend_schema(summary="Read a user (themself or a superuser)"),
    partial_update=extend_schema(
        summary="Update a user (themself or a superuser)",
        request=UserAdminUpdateSerializer,
        responses=UserSerializer,
        description=(
            "`is_active` and `is_superuser` are applied for superusers only. "
            "Deactivating a user ends every session of theirs (refresh and access "
            "tokens), and reactivating the account revives none. A superuser cannot "
            "deactivate or demote themself: `is_active: false` or "
            "`is_superuser: false` on their own account is a 400 naming the field, "
            "and nothing in the body is applied."
        ),
    ),
    destroy=extend_schema(summary="Delete a user (superuser)"),
)
class UserViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet[User],
):
    """Register, read, update and delete accounts."""

    serializer_class = UserSerializer
    parser_classes = [ORJSONParser]

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.order_by("id")

    def get_permissions(self) -> list[Any]:
        if self.action == "create":
            return [AllowAny()]
        if self.action in ("list", "destroy"):
            return [IsSuperuser()]
        if self.detail:  # /users/{id}: decided from the path, before the lookup
            return [IsSelfOrSuperuser()]
        return [IsAuthenticated()]  # /users/me and the like

    def get_object(self) -> User:
        """Return the user the path names; the caller's own record costs no query."""
        caller = cast(User, self.request.user)  # the permissions ran already
        if self.kwargs.get("pk") == str(caller.pk):
            self.check_object_permissions(self.request, caller)
            return caller
        return super().get_object()

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return UserCreateSerializer
        if self.action == "partial_update":
            if self.request.user.is_superuser:
                return UserAdminUpdateSerializer
            return UserUpdateSerializer
        return UserSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Apply a partial update (no PUT: a user has no full replacement)."""
        user = self.get_object()
        serializer = self.get_serializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(
            user=user,
            data=dict(serializer.validated_data),
            by=cast(User, request.user),  # the permissions ran already
        )
        return Response(UserSerializer(user).data)

    def perform_destroy(self, instance: User) -> None:
        if instance.pk == self.request.user.pk:
            raise NotAuthorized("Super users are not allowed to delete themselves")
        instance.delete()

    @extend_schema(summary="Read the current user", responses=UserSerializer)
    @action(detail=False, methods=["get"])
    def me(self, request: Request) -> Response:
        """Return the authenticated caller."""
        user = cast(User, request.user)  # IsAuthenticated: never anonymous here
        return Response(UserSerializer(user).data)


class TokenEndpoint(JSONRequestMixin, APIView):
    """An unauthenticated token endpoint whose 401s still name the Bearer scheme.

    With no authentication classes DRF would turn a 401 into a 403; the contract
    wants 401 with `WWW-Authenticate: Bearer`. A stale bearer token sent along (as
    Swagger UI does) is ignored rather than refused.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    def get_authenticate_header(self, request: Request) -> str:
        """Answer every 401 with `WWW-Authenticate: Bearer`."""
        return WWW_AUTHENTICATE


class LoginFormSerializer(LoginSerializer):
    """The login form's fields: the same as JSON's, documented as `LoginFormRequest`."""


class LoginView(TokenEndpoint):
    """Exchange an email and password for an access and a refresh token.

    Takes the OAuth2 password form (`username`, `password`; Swagger's extra
    `grant_type`, `scope`, `client_id` and `client_secret` are accepted and
    ignored, but a `grant_type` other than `password` is a 400) or JSON with
    `username` or `email`.
    """

    parser_classes = [FormParser, ORJSONParser]
    throttle_classes = [ScopedWindowThrottle, LoginUsernameThrottle]
    throttle_scope = "login"

    @extend_schema(
        summary="Log in (OAuth2 password flow)",
        description=(
            "The OAuth2 password flow's form (`username` is the email), or JSON with "
            "`username` or `email`."
        ),
        # The same fields under two names: a generated client picks the encoding
        # by the body's class (openapi-python-client sends form and JSON at once
        # when both media types share one component).
        request={
            "application/x-www-form-urlencoded": LoginFormSerializer,
            "application/json": LoginSerializer,
        },
        responses={200: TokenSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        """Check the credentials and answer a token pair."""
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_authenticate(**serializer.validated_data)
        return Response(services.token_pair_issue(user=user))


class RefreshView(TokenEndpoint):
    """Rotate a refresh token: the old one is revoked and a new pair issued."""

    @extend_schema(
        summary="Refresh the tokens",
        request=RefreshTokenSerializer,
        responses={200: TokenSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        """Answer a new token pair for a valid, unused refresh token."""
        serializer = RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.token_refresh(**serializer.validated_data))


class LogoutView(JSONRequestMixin, APIView):
    """Revoke one of the caller's refresh tokens (bearer authentication)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Log out",
        request=RefreshTokenSerializer,
        responses={
            204: None,
            # Raised by the service: IsAuthenticated alone implies no 403.
            403: OpenApiResponse(description="The refresh token is another user's."),
        },
    )
    def post(self, request: Request) -> Response:
        """Revoke the refresh token in the body; revoking it again is a 204 too."""
        serializer = RefreshTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = cast(User, request.user)  # IsAuthenticated: never anonymous here
        services.token_revoke(user=user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# PASSWORD CHANGE, RECOVERY AND RESET
# ------------------------------------------------------------------------------
PASSWORD_RECOVERY_ACCEPTED = (
    "If that email belongs to an active account, a password reset link is on its way."
)


class PasswordChangeView(JSONRequestMixin, APIView):
    """Change the caller's password; every session must log in again."""

    @extend_schema(
        summary="Change my password",
        request=PasswordChangeSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        """Check the current password, set the new one, revoke the refresh tokens."""
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = cast(User, request.user)  # IsAuthenticated: never anonymous here
        services.user_password_change(user=user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordRecoveryView(JSONRequestMixin, APIView):
    """Email a password reset link; the same answer whether or not the email exists."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedWindowThrottle, PasswordRecoveryEmailThrottle]
    throttle_scope = "password_recovery"

    @extend_schema(
        summary="Ask for a password reset email",
        request=PasswordRecoverySerializer,
        responses={202: DetailSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        """Queue the reset email and answer 202 at once."""
        serializer = PasswordRecoverySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tasks.password_reset_email_enqueue(email=serializer.validated_data["email"])
        return Response(
            {"detail": PASSWORD_RECOVERY_ACCEPTED}, status=status.HTTP_202_ACCEPTED
        )


class PasswordResetView(JSONRequestMixin, APIView):
    """Set a new password with the `uid` and `token` of a reset link, once."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="Reset a password",
        request=PasswordResetSerializer,
        responses={200: DetailSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        """Check the token, set the password and revoke every refresh token."""
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_reset(**serializer.validated_data)
        return Response({"detail": "Password updated"})
