"""The user model: the email is the login."""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower

from core.validators import validate_ascii_local_part


class UserQuerySet(models.QuerySet["User"]):
    """User queries that match emails without regard to case."""

    def with_email(self, email: str) -> "UserQuerySet":
        """Filter on the email, ignoring case; uses the lower(email) unique index."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=email.lower())

    def get_by_email(self, email: str) -> "User":
        """Return the user with this email, ignoring case, or raise DoesNotExist."""
        return self.with_email(email).get()

    def email_taken(self, email: str, *, exclude_pk: int | None = None) -> bool:
        """Say whether another account already has this email, ignoring case."""
        users = self.with_email(email)
        if exclude_pk is not None:
            users = users.exclude(pk=exclude_pk)
        return users.exists()


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    """Create users and find them by email without regard to case."""

    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        """Find a user by email, ignoring case (the admin login uses this)."""
        return self.get_by_email(username or "")

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)  # None gives an unusable password
        user.save(using=self._db)
        return user

    def create_user(
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        """Create an ordinary, active user."""
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(
        self, email: str, password: str | None = None, **extra: Any
    ) -> "User":
        """Create a superuser, who reaches every user and item and the admin."""
        extra.setdefault("is_superuser", True)
        if extra["is_superuser"] is not True:
            raise ValueError("A superuser must have is_superuser=True.")
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account. Emails are unique without regard to case, in the database."""

    email = models.EmailField(
        "email address",
        max_length=254,
        unique=True,
        validators=[validate_ascii_local_part],  # the admin's forms use it too
    )
    full_name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - null is the contract's "no name"
    is_active = models.BooleanField(
        default=True,
        help_text="Inactive users can neither log in nor use their tokens.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    tokens_valid_after = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=(
            "Tokens issued before this time are refused: set by a password change "
            "or reset and by deactivation."
        ),
    )

    objects: ClassVar[UserManager] = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        """Normalise the email (the domain is lower-cased) before validation."""
        super().clean()
        self.email = User.objects.normalize_email(self.email)

    @property
    def is_staff(self) -> bool:
        """Reach the Django admin: superusers only, as the API has just two roles."""
        return self.is_superuser
