"""The users app."""

from django.apps import AppConfig


class UsersConfig(AppConfig):
    """Accounts: the custom user model, authentication and the users API."""

    name = "users"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the app's OpenAPI extensions (drf-spectacular's advice)."""
        import users.schema  # noqa: F401
