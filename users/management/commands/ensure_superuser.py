"""Create or update the first superuser from FIRST_SUPERUSER_EMAIL and _PASSWORD."""

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from users.models import User
from users.services import user_password_set

MIN_PRODUCTION_PASSWORD_LENGTH = 12


class Command(BaseCommand):
    """Idempotent: run it on every deploy; it changes nothing when all is set."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--print",
            action="store_true",
            help="Print the login and password (development only).",
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server answers, for the printed admin link.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = settings.FIRST_SUPERUSER_EMAIL.strip()
        password = settings.FIRST_SUPERUSER_PASSWORD
        if options["print"] and settings.PRODUCTION:
            raise CommandError("--print is refused in production.")
        if not email or not password:
            self.stdout.write(
                "FIRST_SUPERUSER_EMAIL or FIRST_SUPERUSER_PASSWORD unset: skipped."
            )
            return
        try:
            validate_email(email)
            User._meta.get_field("email").run_validators(email)  # its max_length
        except ValidationError:
            raise CommandError(
                "FIRST_SUPERUSER_EMAIL is not a valid email address."
            ) from None
        if settings.PRODUCTION:
            self._check_production_password(email, password)
        try:
            user, created, changed = self._ensure(email, password)
        except IntegrityError:
            # Another deploy step created the account between our look-up and insert.
            user, created, changed = self._ensure(email, password)
        verb = "Created" if created else ("Updated" if changed else "Unchanged:")
        self.stdout.write(f"{verb} superuser {user.email}")
        if options["print"]:
            admin_url = options["base_url"].rstrip("/") + "/" + settings.ADMIN_URL
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n  Admin: {admin_url}\n"
                    f"  Login: {user.email}\n  Password: {password}  (from .env)\n"
                )
            )

    def _check_production_password(self, email: str, password: str) -> None:
        """Refuse a short, common or email-like password in production."""
        if len(password) < MIN_PRODUCTION_PASSWORD_LENGTH:
            raise CommandError(
                f"FIRST_SUPERUSER_PASSWORD must have at least "
                f"{MIN_PRODUCTION_PASSWORD_LENGTH} characters."
            )
        try:
            validate_password(password, User(email=email))
        except ValidationError as error:
            raise CommandError(
                f"FIRST_SUPERUSER_PASSWORD is too weak: {' '.join(error.messages)}"
            ) from None

    def _ensure(self, email: str, password: str) -> tuple[User, bool, bool]:
        """Create the superuser, or converge an existing account with this email."""
        with transaction.atomic():
            try:
                user = User.objects.select_for_update().get_by_email(email)
            except User.DoesNotExist:
                user = User.objects.create_superuser(email=email, password=password)
                return user, True, True
            return user, False, self._converge(user, password)

    def _converge(self, user: User, password: str) -> bool:
        """Make the user an active superuser with this password; say if it changed."""
        fields = []
        if not user.is_superuser:
            user.is_superuser = True
            fields.append("is_superuser")
        if not user.is_active:
            user.is_active = True
            fields.append("is_active")
        if fields:
            user.save(update_fields=[*fields, "updated_at"])
        if user.check_password(password):
            return bool(fields)
        # As every password change does: a replaced password may be a leaked one.
        user_password_set(user=user, password=password)
        return True
