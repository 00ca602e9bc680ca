"""The users app."""

from django.apps import AppConfig


class UsersConfig(AppConfig):
    """Accounts: the custom user model, authentication and the users API."""

    name = "users"
    default_auto_field = "django.db.models.BigAutoField"
