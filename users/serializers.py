"""Users in and out of the API; privileged fields only for superusers."""

from typing import Any

from rest_framework import serializers

from core.fields import C0_CONTROLS, FastRowMixin, StrictCharField, StrictEmailField
from users.models import User

PASSWORD_FIELD: dict[str, Any] = {
    "write_only": True,
    "min_length": 8,
    "max_length": 128,
    "trim_whitespace": False,
    "allowed_controls": C0_CONTROLS,  # a password is the user's own, all but NUL
}
FULL_NAME_FIELD: dict[str, Any] = {
    "max_length": 255,
    "allow_blank": True,
    "allow_null": True,
    "required": False,
}
USER_FIELDS = [
    "id",
    "email",
    "full_name",
    "is_active",
    "is_superuser",
    "created_at",
    "updated_at",
]


class UserSerializer(FastRowMixin, serializers.ModelSerializer[User]):
    """A user as every response shows it; the password never appears."""

    class Meta:
        model = User
        fields = USER_FIELDS
        read_only_fields = USER_FIELDS


class UserCreateSerializer(serializers.ModelSerializer[User]):
    """Registration: email, password and an optional full name."""

    email = StrictEmailField(max_length=254)
    password = StrictCharField(**PASSWORD_FIELD)
    full_name = StrictCharField(**FULL_NAME_FIELD)

    class Meta:
        model = User
        fields = ["email", "password", "full_name"]


class UserUpdateSerializer(serializers.ModelSerializer[User]):
    """What a user may change of their own account."""

    email = StrictEmailField(max_length=254, required=False)
    password = StrictCharField(required=False, **PASSWORD_FIELD)
    full_name = StrictCharField(**FULL_NAME_FIELD)

    class Meta:
        model = User
        fields = ["email", "full_name", "password"]


class UserAdminUpdateSerializer(UserUpdateSerializer):
    """What a superuser may change of any account, privileges included."""

    class Meta(UserUpdateSerializer.Meta):
        fields = [*UserUpdateSerializer.Meta.fields, "is_active", "is_superuser"]


class LoginSerializer(serializers.Serializer[dict[str, Any]]):
    """Credentials: OAuth2 form (`username`) or JSON (`username` or `email`)."""

    username = serializers.CharField(required=False, max_length=254, write_only=True)
    email = serializers.CharField(required=False, max_length=254, write_only=True)
    password = serializers.CharField(
        max_length=128, trim_whitespace=False, write_only=True
    )
    # OAuth2 password flow (Swagger UI sends it): optional, but only "password".
    grant_type = serializers.ChoiceField(
        choices=["password"], required=False, write_only=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Take the email from `username` (which wins) or `email`; one is required."""
        email = attrs.get("username") or attrs.get("email")
        if not email:
            raise serializers.ValidationError({"username": ["This field is required."]})
        return {"email": email, "password": attrs["password"]}


class TokenSerializer(serializers.Serializer[dict[str, Any]]):
    """The tokens that login and refresh answer with."""

    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")
    expires_in = serializers.IntegerField(
        help_text="Lifetime of the access token, in seconds."
    )


class RefreshTokenSerializer(serializers.Serializer[dict[str, Any]]):
    """A refresh token, to rotate or revoke."""

    refresh_token = serializers.CharField(max_length=4096)


# PASSWORD CHANGE, RECOVERY AND RESET
# ------------------------------------------------------------------------------
SECRET_FIELD: dict[str, Any] = {
    "max_length": 128,
    "trim_whitespace": False,
    "write_only": True,
}


class PasswordChangeSerializer(serializers.Serializer[dict[str, Any]]):
    """The current password and the new one."""

    current_password = serializers.CharField(**SECRET_FIELD)
    new_password = serializers.CharField(
        help_text="Checked by the password validators (length, commonness, ...).",
        **SECRET_FIELD,
    )


class PasswordRecoverySerializer(serializers.Serializer[dict[str, Any]]):
    """The email of the account whose password is forgotten."""

    email = serializers.EmailField(max_length=254, write_only=True)


class PasswordResetSerializer(serializers.Serializer[dict[str, Any]]):
    """The `uid` and `token` of a reset link, and the new password."""

    uid = serializers.CharField(max_length=64, write_only=True)
    token = serializers.CharField(max_length=128, write_only=True)
    new_password = serializers.CharField(**SECRET_FIELD)


class DetailSerializer(serializers.Serializer[dict[str, Any]]):
    """A message: `{"detail": ...}`."""

    detail = serializers.CharField()
