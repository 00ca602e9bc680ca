"""Create or update the first superuser from FIRST_SUPERUSER_EMAIL and _PASSWORD."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from users.models import User


class Command(BaseCommand):
    """Idempotent: run it on every deploy; it changes nothing when all is set."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--print",
            action="store_true",
            help="Print the login and password (development only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = settings.FIRST_SUPERUSER_EMAIL
        password = settings.FIRST_SUPERUSER_PASSWORD
        if not email or not password:
            self.stdout.write(
                "FIRST_SUPERUSER_EMAIL or FIRST_SUPERUSER_PASSWORD unset: skipped."
            )
            return
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(
                "FIRST_SUPERUSER_EMAIL is not a valid email address."
            ) from None
        if settings.PRODUCTION and len(password) < 12:
            raise CommandError(
                "FIRST_SUPERUSER_PASSWORD must have at least 12 characters."
            )
        with transaction.atomic():
            try:
                user = User.objects.select_for_update().get_by_email(email)
                created = False
            except User.DoesNotExist:
                user = User.objects.create_superuser(email=email, password=password)
                created = True
            changed = created or self._converge(user, password)
        verb = "Created" if created else ("Updated" if changed else "Unchanged:")
        self.stdout.write(f"{verb} superuser {user.email}")
        if options["print"]:
            if settings.PRODUCTION:
                raise CommandError("--print is refused in production.")
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n  Admin: http://127.0.0.1:8000/{settings.ADMIN_URL}\n"
                    f"  Login: {user.email}\n  Password: {password}  (from .env)\n"
                )
            )

    def _converge(self, user: User, password: str) -> bool:
        """Make the user an active superuser with this password; say if it changed."""
        fields = []
        if not user.is_superuser:
            user.is_superuser = True
            fields.append("is_superuser")
        if not user.is_active:
            user.is_active = True
            fields.append("is_active")
        if not user.check_password(password):
            user.set_password(password)
            fields.append("password")
        if fields:
            user.save(update_fields=[*fields, "updated_at"])
        return bool(fields)
